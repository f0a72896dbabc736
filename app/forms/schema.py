"""Schema primitives for census forms: fields, repeatable tables, validation, normalization.

One ``FormSchema`` per form type drives everything that repeats the form: the filler's editor
and its checks, the package, the server's validation, the model's columns, the list and the
Excel export. Everything here is plain Python so the desktop filler can import it without Flask.

A form document (what the filler saves and what a package carries) is a JSON object::

    {
      "uuid": "<UUID4, made by the filler>",
      "fields": {"<field name>": "<text>", ...},
      "<table name>": {"<group key>": {"<slot key>": [{"<column>": "<text>", ...}, ...]}},
      "meta": {...}            # optional, free: the filler's own bookkeeping, never validated
    }

All values are strings. ``normalize`` turns what people type (full-width digits, stray spaces,
Excel numbers) into canonical text; ``validate`` reports every problem at once, each with a path
the editor can map back to its widget and a Chinese message that names the field.

Two languages, Chinese first. Every label and help text is declared in Chinese with its English
beside it (``label_en``, ``help_en``, ``choices_en``); messages are ``Phrase`` objects: Chinese
strings (the filler, the CLI, the audit trail and the export use them as they are) that also
know their English. ``_t`` writes a message as a Chinese msgid with named placeholders, which
scripts/update_catalogues.py extracts into the catalogue, where its English lives; a web page in
English renders a phrase through that catalogue and the English labels (``app.i18n_text.localize``).
No Flask here: ``Phrase.translated`` takes the translation function.
"""
from __future__ import annotations

import copy
import re
import uuid as uuid_module
from dataclasses import dataclass, field as dc_field
from typing import Any, Optional

# The word people write when a required item genuinely does not exist (seed 000: 如确无内容请填写"无").
NONE_VALUE = "无"

# Field kinds. Each has a normalizer and a checker below; a new kind needs both.
TEXT = "text"
URL = "url"
CHOICE = "choice"
PHONE = "phone"
MOBILE = "mobile"
EMAIL = "email"
ICP = "icp"
KINDS = (TEXT, URL, CHOICE, PHONE, MOBILE, EMAIL, ICP)

# Top-level keys of a document that are not tables.
RESERVED_KEYS = ("uuid", "fields", "meta")

# One-character province abbreviations used in ICP numbers: the standard set plus the
# alternative forms that MIIT filings also use (黔/滇/秦/陇 beside 贵/云/陕/甘).
ICP_PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵黔云滇藏陕秦甘陇青宁新"

# Default examples, used in messages when a field does not give its own.
DEFAULT_EXAMPLES = {
    URL: "http://www.example.gov.cn/",
    PHONE: "010-12345678-123",
    MOBILE: "13812345678",
    EMAIL: "zhangsan@example.gov.cn",
    ICP: "京ICP备05070602号-1",
}


# --------------------------------------------------------------------------------------------
# Two languages


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


# --------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class FieldError:
    """One problem in a document.

    ``path`` locates the value (``fields.principal_phone``, ``columns.info.news[2].address``);
    ``label`` is the Chinese name of that value; ``message`` is the full Chinese sentence shown
    to the user; ``code`` is a stable machine name for tests and statistics. ``label`` and
    ``message`` are ``Phrase`` objects, so a web page can show them in English.
    """

    path: str
    label: str
    message: str
    code: str = "invalid"

    def to_dict(self) -> dict:
        return {"path": self.path, "label": self.label, "message": self.message, "code": self.code}

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------------
# Normalization helpers

# Full-width ASCII (U+FF01..U+FF5E) to half-width, and the ideographic space to a plain space.
_FULLWIDTH_ALL = {0xFF01 + i: 0x21 + i for i in range(94)}
_FULLWIDTH_ALL[0x3000] = 0x20
# Only digits and Latin letters: used in free text, where full-width Chinese punctuation
# （，。） is correct and must stay.
_FULLWIDTH_ALNUM = {
    code: code - 0xFEE0
    for code in list(range(0xFF10, 0xFF1A)) + list(range(0xFF21, 0xFF3B)) + list(range(0xFF41, 0xFF5B))
}
_FULLWIDTH_ALNUM[0x3000] = 0x20
# Dashes that Chinese input methods produce where a hyphen is meant in numbers.
_DASHES = {ord(ch): "-" for ch in "－—–‐‑‒―﹣−"}
# Invisible characters that sneak in by copy and paste from web pages and Word.
_INVISIBLE = {ord(ch): None for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad"}
_NBSP = {0x00A0: 0x20}

_NONE_SPELLINGS = {"无", "無"}
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINEBREAK_RE = re.compile(r"\s*[\r\n]+\s*")


def _to_text(value: Any) -> Any:
    """Turn what a spreadsheet gives (ints, 13812345678.0) into text; leave other types alone."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


# Every character _clean may change: str.translate with a dict costs a Python-level lookup per
# character, so most values (which hold none of these) skip it.
_CLEANED_CHARS_RE = re.compile("[" + "".join(
    re.escape(chr(code)) for code in sorted({*_INVISIBLE, *_NBSP, *_FULLWIDTH_ALL})) + "]")


def _clean(value: str, table: dict) -> str:
    if _CLEANED_CHARS_RE.search(value):
        value = value.translate(_INVISIBLE).translate(_NBSP).translate(table)
    return value.strip()


def _json_copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, immutable scalars), several times faster
    than ``copy.deepcopy``, which a package of 200 forms spent a third of its import in."""
    if isinstance(value, dict):
        return {key: _json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_copy(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return copy.deepcopy(value)


def normalize_value(kind: str, value: Any) -> Any:
    """Canonical text for one value of the given kind; non-text values are returned unchanged."""
    value = _to_text(value)
    if not isinstance(value, str):
        return value
    if kind == TEXT:
        value = _clean(value, _FULLWIDTH_ALNUM)
        # Single-line fields: a pasted line break becomes one space rather than an error.
        value = _LINEBREAK_RE.sub(" ", value)
        return NONE_VALUE if value in _NONE_SPELLINGS else value
    value = _clean(value, _FULLWIDTH_ALL)
    if value in _NONE_SPELLINGS:
        return NONE_VALUE
    if kind == URL:
        # Schemes are case-insensitive; lower-case them so the format check stays simple.
        return re.sub(r"^(https?)://", lambda m: m.group(1).lower() + "://", value, flags=re.I)
    if kind == PHONE:
        value = value.translate(_DASHES)
        # (010)12345678 and （010）12345678 are common ways to write the area code.
        value = re.sub(r"^\(\s*(0\d{2,3})\s*\)\s*-?\s*", r"\1-", value)
        # 010-12345678转123 / 分机 / ext: the extension becomes "-123".
        value = re.sub(r"\s*(?:转|分机|ext\.?)\s*(\d{1,6})$", r"-\1", value, flags=re.I)
        # "010 12345678": a space after the area code is one number written loosely.
        value = re.sub(r"^(0\d{2,3})\s+(?=\d{7,8}(?:-|$))", r"\1-", value)
        return re.sub(r"\s*-+\s*", "-", value)
    if kind == MOBILE:
        value = value.translate(_DASHES)
        # 138 1234 5678 / 138-1234-5678 / +86 13812345678: strip the grouping only when what is
        # left is exactly one number, so "two numbers separated by a space" is still caught.
        digits = re.sub(r"[\s-]", "", value)
        if re.fullmatch(r"(?:\+?86)?1\d{10}", digits):
            return digits[-11:]
        return value
    if kind == EMAIL:
        if value.lower().startswith("mailto:"):
            value = value[7:].strip()
        if value.count("@") == 1 and not re.search(r"[\s,;/、|]", value):
            local, domain = value.split("@")
            value = f"{local}@{domain.lower()}"
        return value
    if kind == ICP:
        value = value.translate(_DASHES)
        value = re.sub(r"\s+", "", value)
        return re.sub(r"icp", "ICP", value, flags=re.I)
    return value


# --------------------------------------------------------------------------------------------
# Format checks

_PHONE_RE = re.compile(r"0\d{2,3}-\d{7,8}(?:-\d{1,6})?")
_MOBILE_RE = re.compile(r"1\d{10}")
_EMAIL_RE = re.compile(
    r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_ICP_RE = re.compile(rf"[{ICP_PROVINCES}]ICP备\d{{4,12}}号(?:-\d{{1,4}})?")
_HOST_LABEL = r"[A-Za-z0-9\u4e00-\u9fff](?:[A-Za-z0-9\u4e00-\u9fff\-]{0,61}[A-Za-z0-9\u4e00-\u9fff])?"
_URL_RE = re.compile(
    r"https?://"
    rf"(?P<host>(?:{_HOST_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9\-]{{1,59}}|[\u4e00-\u9fff]{{1,10}})"
    r"|\d{1,3}(?:\.\d{1,3}){3})"
    r"(?::(?P<port>\d{1,5}))?"
    r"(?:[/?#][^\s]*)?"
)
# Several values typed into one box: separators people use between two numbers or addresses.
_MULTI_SEPARATORS = re.compile(r"[\s,;/、|]")


def is_valid_uuid4(value: Any) -> bool:
    """True for a canonical lower-case UUID4 string, the only form the filler writes."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        parsed = uuid_module.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value


def new_uuid() -> str:
    return str(uuid_module.uuid4())


def _url_ok(value: str) -> bool:
    match = _URL_RE.fullmatch(value)
    if not match:
        return False
    host = match.group("host")
    if re.fullmatch(r"[\d.]+", host) and any(int(part) > 255 for part in host.split(".")):
        return False
    port = match.group("port")
    return port is None or 0 < int(port) <= 65535


def website_key(url: Any) -> Optional[str]:
    """The identity of a website, from its 首页网址: one website has one form and one 网站标识码
    (seed 000 注意事项). Two addresses name the same website when they differ only in the scheme
    (http/https), a leading ``www.``, letter case, the default port (80, 443) or a trailing slash;
    the query and the fragment are not part of it. ``None`` for no address (blank or 无).
    docs/basic-info.md states the rule; the filler and the server both use this function."""
    if not isinstance(url, str):
        return None
    text = normalize_value(URL, url).strip()
    if not text or text == NONE_VALUE:
        return None
    text = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", text)
    text = re.split(r"[?#]", text, maxsplit=1)[0]
    host, _, path = text.partition("/")
    host = host.lower().rstrip(".")
    host = re.sub(r":(?:80|443)$", "", host)
    host = host.removeprefix("www.")
    path = path.lower().rstrip("/")
    if not host:
        return None
    return f"{host}/{path}" if path else host


# --------------------------------------------------------------------------------------------
# Fields


@dataclass(frozen=True)
class Field(Bilingual):
    """One value of a form.

    ``accepts_none``: whether 无 is a valid answer (seed 000: free-text items accept 无).
    ``hidden``: set by the server on import (e.g. 省/部, 市, 县); the filler neither shows nor
    writes it and document validation skips it unless asked. ``label_en``/``help_en`` are the
    English UI's; ``choices_en`` names each of ``choices`` in English (the stored value stays the
    Chinese choice: it is census data).
    """

    name: str
    label: str
    kind: str = TEXT
    required: bool = True
    help: str = ""
    choices: tuple = ()
    accepts_none: bool = False
    max_length: int = 200
    example: str = ""
    hidden: bool = False
    label_en: str = ""
    help_en: str = ""
    choices_en: tuple = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"field {self.name}: unknown kind {self.kind!r}")
        if self.kind == CHOICE and not self.choices:
            raise ValueError(f"field {self.name}: a choice field needs choices")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise ValueError(f"field name {self.name!r} must be snake_case ASCII")
        if self.choices_en and len(self.choices_en) != len(self.choices):
            raise ValueError(f"field {self.name}: choices_en must name every choice")

    def choice_label(self, value: str) -> Phrase:
        """``value`` (a stored choice) with its English name, for display."""
        if value in self.choices and self.choices_en:
            return pair(value, self.choices_en[self.choices.index(value)])
        return pair(value, "")

    @property
    def example_value(self) -> str:
        return self.example or DEFAULT_EXAMPLES.get(self.kind, "")

    def hint(self) -> Phrase:
        """What is expected, in Chinese, without the label: for tooltips and messages."""
        none_tail = _t('；确无请填写"%(none)s"', none=NONE_VALUE) if self.accepts_none else ""
        example, tail = self.example_value, none_tail
        if self.kind == URL:
            return _t("以 http:// 或 https:// 开头的完整网址，如 %(example)s%(tail)s",
                      example=example, tail=tail)
        if self.kind == PHONE:
            return _t('"区号-号码"，可带分机号，如 %(example)s%(tail)s', example=example, tail=tail)
        if self.kind == MOBILE:
            return _t("以 1 开头的 11 位手机号码，如 %(example)s%(tail)s", example=example, tail=tail)
        if self.kind == EMAIL:
            return _t("规范的电子邮箱地址，如 %(example)s%(tail)s", example=example, tail=tail)
        if self.kind == ICP:
            return _t('"省份简称ICP备数字号"，可带"-序号"，如 %(example)s%(tail)s',
                      example=example, tail=tail)
        if self.kind == CHOICE:
            return _choices_text(self)
        example = _t("，如 %(example)s", example=self.example) if self.example else ""
        return _t("不超过 %(max)s 个字的文字%(example)s%(tail)s", max=self.max_length,
                  example=example, tail=tail)

    def normalize(self, value: Any) -> Any:
        return normalize_value(self.kind, value)

    def check(self, value: Any, label: Any = None) -> Optional[tuple]:
        """Check one already-normalized value: ``None`` when fine, else ``(code, message)``.

        ``label`` replaces the field's own label in the message (table cells use
        "信息发布类—动态要闻第3行地址"); it may be a function giving the label, called only when
        there is a message to write (most values are fine, and naming every table cell costs).
        """
        if value is None:
            value = ""
        if not isinstance(value, str):
            return "type", _t("%(label)s应为文字，不能是%(type)s", label=_named(label, self),
                              type=_type_name(value))
        if value == "":
            if not self.required:
                return None
            if self.kind == CHOICE:
                return "required", _t("请选择%(label)s：%(hint)s", label=_named(label, self), hint=self.hint())
            if self.accepts_none:
                return "required", _t('请填写%(label)s；确无内容请填写"%(none)s"', label=_named(label, self),
                                      none=NONE_VALUE)
            return "required", _t("请填写%(label)s，应为%(hint)s", label=_named(label, self), hint=self.hint())
        if value == NONE_VALUE:
            if self.accepts_none:
                return None
            if self.kind != TEXT:
                return "none_not_allowed", _t('%(label)s不能填写"%(none)s"，应为%(hint)s',
                                              label=_named(label, self), none=NONE_VALUE, hint=self.hint())
            return "none_not_allowed", _t('%(label)s不能填写"%(none)s"，请填写实际内容',
                                          label=_named(label, self), none=NONE_VALUE)
        if self.kind in (PHONE, MOBILE, EMAIL) and _looks_multiple(self.kind, value):
            # Checked before the length so "two numbers" gets the message that explains it.
            if self.kind == EMAIL:
                return "multiple", _t("%(label)s只能填写一个邮箱地址，请删除多余的邮箱地址；应为%(hint)s",
                                      label=_named(label, self), hint=self.hint())
            return "multiple", _t("%(label)s只能填写一个号码，请删除多余的号码；应为%(hint)s",
                                  label=_named(label, self), hint=self.hint())
        if len(value) > self.max_length:
            return "too_long", _t("%(label)s不能超过 %(max)s 个字，现有 %(count)s 个字",
                                  label=_named(label, self), max=self.max_length, count=len(value))
        if _CONTROL_RE.search(value):
            return "format", _t("%(label)s含有不可见的控制字符，请删除后重新填写", label=_named(label, self))
        if self.kind == TEXT:
            return None
        if self.kind == CHOICE:
            if value in self.choices:
                return None
            return "choice", _t("%(label)s应为%(hint)s，不能填写“%(value)s”", label=_named(label, self),
                                hint=self.hint(), value=value)
        ok = {
            URL: _url_ok,
            PHONE: _PHONE_RE.fullmatch,
            MOBILE: _MOBILE_RE.fullmatch,
            EMAIL: _EMAIL_RE.fullmatch,
            ICP: _ICP_RE.fullmatch,
        }[self.kind](value)
        if ok:
            return None
        return "format", _t("%(label)s应为%(hint)s", label=_named(label, self), hint=self.hint())

    def describe(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "label_en": self.label_en,
            "kind": self.kind,
            "required": self.required,
            "help": self.help,
            "help_en": self.help_en,
            "hint": str(self.hint()),
            "choices": list(self.choices),
            "choices_en": list(self.choices_en),
            "accepts_none": self.accepts_none,
            "max_length": self.max_length,
            "example": self.example_value,
            "hidden": self.hidden,
        }


def _named(label: Any, field: Field) -> Any:
    """The label a message names: given, given as a function, or the field's own."""
    return label() if callable(label) else (label or field.text_label)


def _choices_text(field: Field) -> Phrase:
    names = [field.choice_label(c) for c in field.choices]
    quoted = [pair(f"“{c}”", f"“{c.en}”" if c.en else "") for c in names]
    if len(quoted) == 2:
        return _t("%(first)s或%(second)s", first=quoted[0], second=quoted[1])
    english = ", ".join(q.en or str(q) for q in quoted) if field.choices_en else ""
    return _t("以下之一：%(choices)s", choices=pair("、".join(quoted), english))


def _type_name(value: Any) -> Any:
    if isinstance(value, bool):
        return pair("真假值", "true/false")
    if isinstance(value, (int, float)):
        return pair("数字", "a number")
    if isinstance(value, list):
        return pair("列表", "a list")
    if isinstance(value, dict):
        return pair("对象", "an object")
    return type(value).__name__


def _looks_multiple(kind: str, value: str) -> bool:
    if _MULTI_SEPARATORS.search(value):
        return True
    if kind == EMAIL:
        return value.count("@") > 1
    if kind == MOBILE:
        # 2213812345678…: two mobile numbers typed without a separator.
        return value.isdigit() and len(value) >= 22 and len(value) % 11 == 0
    if kind == PHONE:
        return len(re.findall(r"0\d{2,3}-\d{7,8}", value)) > 1
    return False


# --------------------------------------------------------------------------------------------
# Repeatable tables


@dataclass(frozen=True)
class Slot(Bilingual):
    """One kind of column/system within a group, e.g. 动态要闻; holds one or more rows."""

    key: str
    label: str
    help: str = ""
    label_en: str = ""
    help_en: str = ""


@dataclass(frozen=True)
class Group(Bilingual):
    key: str
    label: str
    slots: tuple
    label_en: str = ""


@dataclass(frozen=True)
class Table(Bilingual):
    """A table of groups → slots → rows; each row has the same columns.

    A row whose ``none_column`` is 无 says "the site has none of these"; its other columns must
    be 无 or empty, and it must be the slot's only row. Any other row is a real entry and every
    column must be filled by its own rule.
    """

    name: str
    label: str
    groups: tuple
    columns: tuple
    none_column: str = "name"
    min_rows: int = 1
    max_rows: int = 100
    help: str = ""
    label_en: str = ""
    help_en: str = ""
    # What one row stands for ("栏目（系统）" in basic_info): messages about 无 rows name it.
    item_label: str = "条目"
    item_label_en: str = "entry"

    def __post_init__(self):
        names = [c.name for c in self.columns]
        if self.none_column not in names:
            raise ValueError(f"table {self.name}: none_column {self.none_column} is not a column")
        keys = [(g.key, s.key) for g in self.groups for s in g.slots]
        if len(set(keys)) != len(keys) or len({g.key for g in self.groups}) != len(self.groups):
            raise ValueError(f"table {self.name}: duplicate group or slot keys")

    def column(self, name: str) -> Field:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def slots(self) -> list:
        """Every (group, slot) pair in display order."""
        return [(g, s) for g in self.groups for s in g.slots]

    @property
    def text_item_label(self) -> Phrase:
        return pair(self.item_label, self.item_label_en)

    def slot_label(self, group: Group, slot: Slot) -> Phrase:
        return _t("%(group)s—%(slot)s", group=group.text_label, slot=slot.text_label)

    def blank_row(self) -> dict:
        return {c.name: "" for c in self.columns}

    def none_row(self) -> dict:
        return {c.name: NONE_VALUE for c in self.columns}

    def new_value(self, blank_rows: int = 1) -> dict:
        return {
            g.key: {s.key: [self.blank_row() for _ in range(blank_rows)] for s in g.slots}
            for g in self.groups
        }

    def is_none_row(self, row: dict) -> bool:
        return isinstance(row, dict) and row.get(self.none_column) == NONE_VALUE

    def describe(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "label_en": self.label_en,
            "help": self.help,
            "help_en": self.help_en,
            "none_column": self.none_column,
            "min_rows": self.min_rows,
            "max_rows": self.max_rows,
            "columns": [c.describe() for c in self.columns],
            "groups": [
                {"key": g.key, "label": g.label, "label_en": g.label_en,
                 "slots": [{"key": s.key, "label": s.label, "label_en": s.label_en,
                            "help": s.help, "help_en": s.help_en} for s in g.slots]}
                for g in self.groups
            ],
        }


# --------------------------------------------------------------------------------------------
# The form schema


@dataclass(frozen=True)
class FormSchema(Bilingual):
    """Everything about one form type.

    ``name`` is the form type (also the package's ``form_type``); ``version`` goes into packages
    so a reader knows which schema wrote them; ``list_fields`` are the schema fields the list
    page and the report export show (workflow columns such as 状态 are added by the platform);
    ``title_field`` names a document in lists and package file names; ``package_folder`` is the
    human-readable folder the forms sit in inside a package.
    """

    name: str
    label: str
    version: int
    fields: tuple
    tables: tuple = ()
    list_fields: tuple = ()
    title_field: Optional[str] = None
    package_folder: str = ""
    help: str = ""
    label_en: str = ""
    help_en: str = ""
    _by_name: dict = dc_field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"schema {self.name}: duplicate field names")
        for table in self.tables:
            if table.name in RESERVED_KEYS or table.name in names:
                raise ValueError(f"schema {self.name}: table name {table.name} is reserved")
        by_name = {f.name: f for f in self.fields}
        for name in self.list_fields:
            if name not in by_name:
                raise ValueError(f"schema {self.name}: list field {name} is not a field")
        if self.title_field and self.title_field not in by_name:
            raise ValueError(f"schema {self.name}: title field {self.title_field} is not a field")
        self._by_name.update(by_name)

    # -- introspection ------------------------------------------------------------------------

    def field(self, name: str) -> Field:
        return self._by_name[name]

    def field_names(self, include_hidden: bool = True) -> list:
        return [f.name for f in self.fields if include_hidden or not f.hidden]

    def filler_fields(self) -> list:
        """The fields the filler shows and writes, in order."""
        return [f for f in self.fields if not f.hidden]

    def hidden_fields(self) -> list:
        """Fields the server sets on import (never in the filler)."""
        return [f for f in self.fields if f.hidden]

    def hidden_field_names(self) -> list:
        return [f.name for f in self.hidden_fields()]

    def export_columns(self, full: bool = False) -> list:
        """Fields for the list page and the report export; ``full`` gives every field in order."""
        if full:
            return list(self.fields)
        return [self._by_name[name] for name in self.list_fields]

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def table_names(self) -> list:
        return [t.name for t in self.tables]

    def describe(self) -> dict:
        """A JSON-able description of the whole schema (for the API, docs and generic editors)."""
        return {
            "name": self.name,
            "label": self.label,
            "label_en": self.label_en,
            "version": self.version,
            "help": self.help,
            "help_en": self.help_en,
            "title_field": self.title_field,
            "list_fields": list(self.list_fields),
            "fields": [f.describe() for f in self.fields],
            "tables": [t.describe() for t in self.tables],
        }

    # -- documents ----------------------------------------------------------------------------

    def new_document(self, uuid: Optional[str] = None, blank_rows: int = 1) -> dict:
        """An empty document with a fresh UUID4, every visible field empty, one blank row per slot."""
        doc = {
            "uuid": uuid or new_uuid(),
            "fields": {f.name: "" for f in self.fields if not f.hidden},
        }
        for table in self.tables:
            doc[table.name] = table.new_value(blank_rows)
        return doc

    def title(self, data: Any) -> str:
        """The document's display name (e.g. 网站名称), or "" when missing."""
        if not self.title_field or not isinstance(data, dict):
            return ""
        fields = data.get("fields")
        value = fields.get(self.title_field) if isinstance(fields, dict) else None
        return value.strip() if isinstance(value, str) else ""

    def table_rows(self, data: Any, table_name: str) -> list:
        """Flatten a table for storage and export: one dict per row, in display order.

        Each dict has ``group``, ``group_label``, ``slot``, ``slot_label``, ``position`` (0-based
        within the slot) and one key per column. Malformed parts are skipped: validate first.
        """
        table = self.table(table_name)
        value = data.get(table_name) if isinstance(data, dict) else None
        rows = []
        if not isinstance(value, dict):
            return rows
        for group, slot in table.slots():
            group_value = value.get(group.key)
            slot_rows = group_value.get(slot.key) if isinstance(group_value, dict) else None
            if not isinstance(slot_rows, list):
                continue
            for position, row in enumerate(slot_rows):
                if not isinstance(row, dict):
                    continue
                item = {"group": group.key, "group_label": group.label,
                        "slot": slot.key, "slot_label": slot.label, "position": position}
                for col in table.columns:
                    cell = row.get(col.name, "")
                    item[col.name] = cell if isinstance(cell, str) else ""
                rows.append(item)
        return rows

    def normalize(self, data: Any) -> Any:
        """A normalized deep copy of ``data``; parts that are not the expected shape are kept as
        they are so that ``validate`` can report them."""
        if not isinstance(data, dict):
            return _json_copy(data)
        out = _json_copy(data)
        if isinstance(out.get("uuid"), str):
            out["uuid"] = out["uuid"].strip().lower()
        fields = out.get("fields")
        if isinstance(fields, dict):
            for name, value in fields.items():
                if name in self._by_name:
                    fields[name] = self._by_name[name].normalize(value)
        for table in self.tables:
            value = out.get(table.name)
            if not isinstance(value, dict):
                continue
            for group_value in value.values():
                if not isinstance(group_value, dict):
                    continue
                for rows in group_value.values():
                    if not isinstance(rows, list):
                        continue
                    for row in rows:
                        if isinstance(row, dict):
                            self._normalize_row(table, row)
        return out

    @staticmethod
    def _normalize_row(table: Table, row: dict) -> None:
        for col in table.columns:
            if col.name in row:
                row[col.name] = col.normalize(row[col.name])
        if row.get(table.none_column) == NONE_VALUE:
            # A "none" row: store 无 in every column so it reads the same everywhere.
            for col in table.columns:
                if row.get(col.name, "") in ("", NONE_VALUE):
                    row[col.name] = NONE_VALUE

    def validate(self, data: Any, include_hidden: bool = False) -> list:
        """Every problem in ``data`` (expected to be normalized) as a list of ``FieldError``.

        Hidden (server-set) fields are skipped unless ``include_hidden``: the filler never has
        them and the server sets them itself on import.
        """
        if not isinstance(data, dict):
            return [FieldError("", self.text_label, _t("%(form)s的内容应为 JSON 对象，不能是%(type)s",
                                                       form=self.text_label, type=_type_name(data)),
                               "type")]
        errors = []
        known = set(RESERVED_KEYS) | {t.name for t in self.tables}
        for key in data:
            if key not in known:
                errors.append(FieldError(str(key), str(key), _t(
                    "表单中有无法识别的内容“%(key)s”，可能来自其他版本的填报客户端或被手工修改过",
                    key=key), "unknown"))
        if not is_valid_uuid4(data.get("uuid")):
            errors.append(FieldError("uuid", UUID_LABEL, _t(
                "表单的内部标识（uuid）缺失或格式不正确；它由填报客户端自动生成，请勿手工修改"), "uuid"))
        if "meta" in data and not isinstance(data["meta"], dict):
            errors.append(FieldError("meta", pair("附加信息", "Additional information"),
                                     _t("表单的附加信息（meta）应为 JSON 对象"), "type"))
        errors.extend(self._validate_fields(data.get("fields"), include_hidden))
        for table in self.tables:
            errors.extend(self._validate_table(table, data.get(table.name)))
        return errors

    def is_valid(self, data: Any) -> bool:
        return not self.validate(data)

    def clean(self, data: Any, include_hidden: bool = False) -> tuple:
        """``(normalized copy, errors)``: what an editor or importer usually wants in one call."""
        normalized = self.normalize(data)
        return normalized, self.validate(normalized, include_hidden=include_hidden)

    def _validate_fields(self, fields: Any, include_hidden: bool) -> list:
        if not isinstance(fields, dict):
            return [FieldError("fields", pair("基本信息", "Basic information"), _t(
                "%(form)s缺少基本信息部分（fields），或其格式不正确", form=self.text_label), "type")]
        errors = []
        for name in fields:
            if name not in self._by_name:
                errors.append(FieldError(f"fields.{name}", str(name), _t(
                    "表单中有未知字段“%(name)s”，可能来自其他版本的填报客户端或被手工修改过",
                    name=name), "unknown"))
        for f in self.fields:
            if f.hidden and not include_hidden:
                continue
            problem = f.check(fields.get(f.name, ""))
            if problem:
                errors.append(FieldError(f"fields.{f.name}", f.text_label, problem[1], problem[0]))
        return errors

    def _validate_table(self, table: Table, value: Any) -> list:
        table_label = table.text_label
        if not isinstance(value, dict):
            return [FieldError(table.name, table_label,
                               _t("缺少%(table)s，或其格式不正确", table=table_label), "type")]
        errors = []
        group_keys = {g.key: g for g in table.groups}
        for key in value:
            if key not in group_keys:
                errors.append(FieldError(f"{table.name}.{key}", str(key), _t(
                    "%(table)s中有未知分组“%(key)s”", table=table_label, key=key), "unknown"))
        for group in table.groups:
            group_value = value.get(group.key)
            if not isinstance(group_value, dict):
                errors.append(FieldError(f"{table.name}.{group.key}", group.text_label, _t(
                    "%(table)s缺少“%(group)s”，或其格式不正确", table=table_label,
                    group=group.text_label), "type"))
                continue
            slot_keys = {s.key for s in group.slots}
            for key in group_value:
                if key not in slot_keys:
                    errors.append(FieldError(f"{table.name}.{group.key}.{key}", str(key), _t(
                        "%(table)s“%(group)s”中有未知栏目类别“%(key)s”", table=table_label,
                        group=group.text_label, key=key), "unknown"))
            for slot in group.slots:
                errors.extend(self._validate_slot(table, group, slot, group_value.get(slot.key)))
        return errors

    def _validate_slot(self, table: Table, group: Group, slot: Slot, rows: Any) -> list:
        path = f"{table.name}.{group.key}.{slot.key}"
        def slot_label():  # only for a message (see row_label)
            return table.slot_label(group, slot)

        if not isinstance(rows, list):
            return [FieldError(path, slot_label(), _t("%(slot)s缺少内容，或其格式不正确", slot=slot_label()),
                               "type")]
        if len(rows) < table.min_rows:
            return [FieldError(path, slot_label(), _t(
                '%(slot)s至少应填写 %(min)s 行；确无此类%(item)s请在%(column)s中填写"%(none)s"',
                slot=slot_label(), min=table.min_rows, item=table.text_item_label,
                column=table.column(table.none_column).text_label, none=NONE_VALUE), "rows")]
        if len(rows) > table.max_rows:
            return [FieldError(path, slot_label(), _t("%(slot)s最多填写 %(max)s 行，现有 %(count)s 行",
                                                    slot=slot_label(), max=table.max_rows,
                                                    count=len(rows)), "rows")]
        errors = []
        none_rows = [i for i, row in enumerate(rows) if table.is_none_row(row)]
        for i, row in enumerate(rows):
            row_path = f"{path}[{i}]"
            # Labels are made only for a message: naming every row and cell would cost more than
            # checking them.
            def row_label(i=i):
                return _t("%(slot)s第 %(row)s 行", slot=slot_label(), row=i + 1)

            if not isinstance(row, dict):
                errors.append(FieldError(row_path, row_label(), _t("%(row)s格式不正确", row=row_label()),
                                         "type"))
                continue
            for key in row:
                if key not in {c.name for c in table.columns}:
                    errors.append(FieldError(f"{row_path}.{key}", str(key), _t(
                        "%(row)s中有未知内容“%(key)s”", row=row_label(), key=key), "unknown"))
            if i in none_rows:
                if len(rows) > 1:
                    errors.append(FieldError(
                        f"{row_path}.{table.none_column}",
                        _cell_label(row_label(), table.column(table.none_column)), _t(
                            '%(slot)s已填写了%(item)s，第 %(row)s 行不应再填写"%(none)s"，请删除该行',
                            slot=slot_label(), item=table.text_item_label, row=i + 1,
                            none=NONE_VALUE),
                        "none_conflict"))
                for col in table.columns:
                    cell = row.get(col.name, "")
                    if col.name != table.none_column and cell not in ("", NONE_VALUE):
                        errors.append(FieldError(
                            f"{row_path}.{col.name}", _cell_label(row_label(), col), _t(
                                '%(row)s名称为"%(none)s"，%(column)s也应为"%(none)s"或留空',
                                row=row_label(), none=NONE_VALUE, column=col.text_label),
                            "none_conflict"))
                continue
            # A blank row needs one answer (a name, or 无), not one complaint per column.
            blank = all(row.get(c.name, "") in ("", None) for c in table.columns)
            for col in table.columns:
                if blank and col.name != table.none_column:
                    continue
                problem = col.check(row.get(col.name, ""),
                                    label=lambda col=col: _cell_label(row_label(), col))
                if problem is None:
                    continue
                code, message = problem
                cell_label = _cell_label(row_label(), col)
                if code == "required" and col.name == table.none_column:
                    message = _t('请填写%(cell)s；确无此类%(item)s请填写"%(none)s"',
                                 cell=cell_label, item=table.text_item_label, none=NONE_VALUE)
                errors.append(FieldError(f"{row_path}.{col.name}", cell_label, message, code))
        return errors


UUID_LABEL = pair("内部标识", "Internal ID")


def _cell_label(row_label: Phrase, column: Field) -> Phrase:
    """"信息发布类—动态要闻第 3 行地址": one cell of a table, named in messages."""
    return _t("%(row)s%(column)s", row=row_label, column=column.text_label)
