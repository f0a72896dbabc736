"""Two languages, Chinese first: the text type every schema label and message is made of.

Every label and help text is declared in Chinese with its English beside it (``label_en``,
``help_en``, ``choices_en``); messages are ``Phrase`` objects: Chinese strings (the filler, the
CLI, the audit trail and the export use them as they are) that also know their English. ``_t``
writes a message as a Chinese msgid with named placeholders, which scripts/update_catalogues.py
extracts into the catalogue, where its English lives; a web page in English renders a phrase
through that catalogue and the English labels (``app.i18n_text.localize``). No Flask here:
``Phrase.translated`` takes the translation function.
"""
from __future__ import annotations

from typing import Optional


class Phrase(str):
    """A Chinese string that can also be given in English.

    Either a fixed pair (``Phrase("网站名称", en="Website name")``: a label) or a message made by
    ``_t`` from a Chinese msgid and its parameters, translated by looking the msgid up and filling
    in the parameters, each translated in turn when it is a phrase itself (a field's label in an
    error message). As a ``str`` it is the Chinese text, so code that knows only Chinese (the
    filler, joins, comparisons, JSON) needs nothing new.
    """

    def __new__(cls, zh: str, *, en: str = "", msgid: Optional[str] = None,
                params: Optional[dict] = None):
        obj = super().__new__(cls, zh)
        obj.en, obj.msgid, obj.params = en, msgid, params or {}
        return obj

    def __getnewargs__(self):
        return (str(self),)

    def translated(self, translate) -> str:
        """The phrase in the language of ``translate`` (a msgid → message template function,
        e.g. a gettext); a fixed pair gives its English, or the Chinese where it has none."""
        if self.msgid is None:
            return self.en or str(self)
        params = {key: value.translated(translate) if isinstance(value, Phrase) else value
                  for key, value in self.params.items()}
        return translate(self.msgid) % params


def _t(msgid: str, **params) -> Phrase:
    """A message: the Chinese ``msgid`` (extracted for translation) with named ``%(name)s``
    placeholders filled in from ``params``."""
    return Phrase(msgid % params if params else msgid, msgid=msgid, params=params)


def pair(zh: str, en: str) -> Phrase:
    """A fixed Chinese/English pair (a declared label or help text)."""
    return Phrase(zh, en=en)


class Bilingual:
    """What a schema item (field, slot, group, table, form) with ``label``/``label_en`` and
    perhaps ``help``/``help_en`` gives: each as a ``Phrase``."""

    @property
    def text_label(self) -> Phrase:
        return pair(self.label, self.label_en)

    @property
    def text_help(self) -> Phrase:
        return pair(getattr(self, "help", ""), getattr(self, "help_en", ""))

