"""Field kinds: everything about one kind of value, from what people type to the model's column.

A kind is a ``FieldKind`` subclass, made once. It answers, for a field of that kind:

- ``normalize(value)``: what people type (full-width digits, stray spaces, Excel numbers) as
  canonical text;
- ``check(field, value, label)``: ``None`` for a good normalized value, else ``(code, message)``,
  the message a bilingual ``Phrase`` naming the field (``code`` is a stable machine name);
- ``hint(field)``: what is expected, in both languages, with ``example(field)``;
- ``column(field)``: the model's column as plain data, a ``ColumnSpec`` (storage name and its
  parameters); app/kind_columns.py turns it into a SQLAlchemy type on the server, so this module
  stays free of SQLAlchemy (the desktop filler imports it and bundles none);
- ``label``: the kind's own name in both languages; ``widget`` and ``choices(field)``: what an
  editor shows (``"text"``, ``"number"`` or ``"choice"`` from a fixed list).

Defining a subclass with its own ``name`` registers it (``__init_subclass__``), so a plugin that
defines a kind in its schema module has it wherever that module is imported: in the web app and
in the filler, which runs neither Flask nor the plugin manager. ``Field(kind="url")`` looks the
name up when the schema is defined; an unknown name fails there. docs/schema.md says more.

Documents hold text for every kind (a package's JSON values are strings); the number kinds also
accept JSON numbers and Excel cells and turn them into their canonical text.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

from app.forms.phrases import Phrase, _t, pair

# The word people write when a required item genuinely does not exist (seed 000: 如确无内容请填写"无").
NONE_VALUE = "无"

# The names of the built-in kinds, as schemas write them (``Field("x", "X", URL)``).
TEXT = "text"
URL = "url"
CHOICE = "choice"
PHONE = "phone"
MOBILE = "mobile"
EMAIL = "email"
ICP = "icp"
INTEGER = "integer"
SCORE = "score"
YES_NO = "yes_no"

# One-character province abbreviations used in ICP numbers: the standard set plus the
# alternative forms that MIIT filings also use (黔/滇/秦/陇 beside 贵/云/陕/甘).
ICP_PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵黔云滇藏陕秦甘陇青宁新"


# --------------------------------------------------------------------------------------------
# The registry

_REGISTRY: dict = {}


def register_kind(kind: "FieldKind") -> "FieldKind":
    """Add ``kind`` under its name. The same class defined again (a module imported twice, a
    reload) replaces itself; another class with a taken name is refused."""
    old = _REGISTRY.get(kind.name)
    if old is not None and _qualified(type(old)) != _qualified(type(kind)):
        raise ValueError(f"field kind {kind.name!r} is defined twice: by {_qualified(type(old))} "
                         f"and by {_qualified(type(kind))}")
    _REGISTRY[kind.name] = kind
    return kind


def kind_named(name: Any) -> "FieldKind":
    """The registered kind called ``name`` (a kind object or class is taken as it is)."""
    if isinstance(name, FieldKind):
        return name
    if isinstance(name, type) and issubclass(name, FieldKind) and name.__dict__.get("name"):
        return _REGISTRY[name.name]
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown field kind {name!r}; the defined kinds are "
                         f"{', '.join(sorted(_REGISTRY))} (a plugin's kind is defined when its "
                         "schema module is imported)") from None


def field_kinds() -> dict:
    """Every registered kind by name."""
    return dict(_REGISTRY)


def _qualified(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# --------------------------------------------------------------------------------------------
# Normalization helpers

# Full-width ASCII (U+FF01..U+FF5E) to half-width, the ideographic and no-break spaces to a plain
# space: for addresses, numbers and codes. Not unicodedata's NFKC, which also folds superscripts,
# circled digits, ligatures and spacing accents (² → 2, ① → 1, ﬁ → fi): it would turn what is
# not a number into a plausible one ("a²b@x.gov.cn" would pass as a2b@x.gov.cn).
_FULLWIDTH_ALL = {0xFF01 + i: 0x21 + i for i in range(94)}
_FULLWIDTH_ALL[0x3000] = 0x20
_FULLWIDTH_ALL[0x00A0] = 0x20
# Only digits and Latin letters (and the spaces): free text keeps full-width Chinese punctuation
# （，。）, which is correct there.
_FULLWIDTH_ALNUM = {
    code: code - 0xFEE0
    for code in list(range(0xFF10, 0xFF1A)) + list(range(0xFF21, 0xFF3B)) + list(range(0xFF41, 0xFF5B))
}
_FULLWIDTH_ALNUM[0x3000] = 0x20
_FULLWIDTH_ALNUM[0x00A0] = 0x20
# Invisible characters that sneak in by copy and paste from web pages and Word.
_INVISIBLE = {ord(ch): None for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad"}
# Dashes that Chinese input methods produce where a hyphen is meant in numbers.
_DASHES = {ord(ch): "-" for ch in "－—–‐‑‒―﹣−"}
# Every character the cleaning may change: str.translate with a dict costs a Python-level
# lookup per character, so most values (which hold none of these) skip it.
_CHANGES_RE = re.compile("[" + "".join(
    re.escape(chr(code)) for code in sorted({*_INVISIBLE, *_FULLWIDTH_ALL})) + "]")

_NONE_SPELLINGS = {"无", "無"}
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINEBREAK_RE = re.compile(r"\s*[\r\n]+\s*")
# Several values typed into one box: separators people use between two numbers or addresses.
_MULTI_SEPARATORS = re.compile(r"[\s,;/、|]")


def to_text(value: Any) -> Any:
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


def _named(label: Any, field) -> Any:
    """The label a message names: given, given as a function, or the field's own."""
    return label() if callable(label) else (label or field.text_label)


def type_name(value: Any) -> Any:
    if isinstance(value, bool):
        return pair("真假值", "true/false")
    if isinstance(value, (int, float)):
        return pair("数字", "a number")
    if isinstance(value, list):
        return pair("列表", "a list")
    if isinstance(value, dict):
        return pair("对象", "an object")
    return type(value).__name__


# --------------------------------------------------------------------------------------------
# The kind


class ColumnSpec:
    """A model column as plain data: how the value is stored (``"text"``, ``"integer"``,
    ``"score"``, ``"yes_no"``, or a storage a plugin registers in app/kind_columns.py) and that
    storage's parameters (``length``, ``big``, ``precision``, ``scale`` ...)."""

    __slots__ = ("storage", "params")

    def __init__(self, storage: str, **params):
        self.storage = storage
        self.params = params

    def __repr__(self):
        args = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"ColumnSpec({self.storage!r}{args})"


class FieldKind:
    """One kind of value. Subclass it with a ``name`` to define (and register) a kind.

    A subclass usually sets ``name``, ``label`` and ``default_example`` and overrides
    ``canonical`` (what ``normalize`` calls on cleaned text), ``hint`` and ``matches`` (or
    ``check_value`` when a bad value needs its own message); ``column`` when its column is
    not a string. The generic order of ``check`` (empty → 无 → several values → length →
    control characters → the kind's own check) is the same for every kind.
    """

    name: str = ""
    label: Phrase = pair("文字", "text")
    default_example: str = ""
    widget: str = "text"
    # True where typing two values into one box is a common mistake worth its own message.
    single_value: bool = False
    # True for kinds that read min_value/max_value/step.
    bounded: bool = False
    # A fixed pick list (yes/no): fills the field's choices when it gives none.
    fixed_choices: tuple = ()
    fixed_choices_en: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            register_kind(cls())

    def __repr__(self) -> str:
        return f"<field kind {self.name}>"

    # -- the schema's definition --------------------------------------------------------------

    def validate_field(self, field) -> None:
        """Refuse, with a ValueError naming the field, a field this kind cannot serve."""
        if not self.bounded and (field.min_value is not None or field.max_value is not None
                                 or field.step is not None):
            raise ValueError(f"field {field.name}: min_value, max_value and step apply only to "
                             f"number kinds, not to {self.name}")

    # -- values -------------------------------------------------------------------------------

    def normalize(self, value: Any) -> Any:
        """Canonical text for ``value``; values that are not text are returned unchanged.

        Cleans the text (full-width letters, digits and punctuation half-width, no-break and
        ideographic spaces plain; invisible characters and outer spaces gone), reads 无/無 as 无,
        and gives anything else to ``canonical``. Free text (``TextKind``) keeps its full-width
        Chinese punctuation instead."""
        if value.__class__ is not str:
            value = to_text(value)
            if not isinstance(value, str):
                return value
        if not value.isascii() and _CHANGES_RE.search(value):
            value = value.translate(_INVISIBLE).translate(_FULLWIDTH_ALL)
        value = value.strip()
        if value in _NONE_SPELLINGS:
            return NONE_VALUE
        return self.canonical(value)

    def canonical(self, value: str) -> str:
        """The kind's own rewriting of cleaned text (a phone's extension, an e-mail's domain)."""
        return value

    def example(self, field) -> str:
        return field.example or self.default_example

    def hint(self, field) -> Phrase:
        """What is expected, without the label: for tooltips and messages."""
        return _t("不超过 %(max)s 个字的文字%(example)s%(tail)s", max=field.max_length,
                  example=_t("，如 %(example)s", example=field.example) if field.example else "",
                  tail=self.none_tail(field))

    @staticmethod
    def none_tail(field) -> Any:
        return _t('；确无请填写"%(none)s"', none=NONE_VALUE) if field.accepts_none else ""

    def choices(self, field) -> tuple:
        """The values an editor offers to pick from (empty: the value is typed)."""
        return field.choices if self.widget == "choice" else ()

    def check(self, field, value: Any, label: Any = None) -> Optional[tuple]:
        """Check one already-normalized value: ``None`` when fine, else ``(code, message)``.

        ``label`` replaces the field's own label in the message (table cells use
        "信息发布类—动态要闻第3行地址"); it may be a function giving the label, called only when
        there is a message to write.
        """
        if value is None:
            value = ""
        if value.__class__ is not str and not isinstance(value, str):
            return "type", _t("%(label)s应为文字，不能是%(type)s", label=_named(label, field),
                              type=type_name(value))
        if value == "":
            if not field.required:
                return None
            return "required", self.required_message(field, label)
        if value == NONE_VALUE:
            if field.accepts_none:
                return None
            return "none_not_allowed", self.none_message(field, label)
        if self.single_value and self.looks_multiple(value):
            # Checked before the length so "two numbers" gets the message that explains it.
            return "multiple", self.multiple_message(field, label)
        if len(value) > field.max_length:
            return "too_long", _t("%(label)s不能超过 %(max)s 个字，现有 %(count)s 个字",
                                  label=_named(label, field), max=field.max_length,
                                  count=len(value))
        if _CONTROL_RE.search(value):
            return "format", _t("%(label)s含有不可见的控制字符，请删除后重新填写",
                                label=_named(label, field))
        return self.check_value(field, value, label)

    def checker(self, field):
        """``check`` for one field, resolved once per field: a good value (the common case) is
        answered by ``good_value`` without walking the generic order; anything else by
        ``check``. A kind without ``good_value`` is always checked in full."""
        good = self.good_value(field)
        check = self.check
        if good is None:
            return lambda value, label=None: check(field, value, label)
        max_length, control = field.max_length, _CONTROL_RE.search

        def fast_check(value, label=None):
            if (value.__class__ is str and value and value != NONE_VALUE and len(value) <= max_length
                    and good(value) and not control(value)):
                return None
            return check(field, value, label)
        return fast_check

    def good_value(self, field):
        """A function that is true only for values ``check`` passes (given they are non-empty
        text, not 无, not too long, without control characters), or None. It must never pass a
        value ``check`` refuses; it may refuse good ones (they then take the full check)."""
        return None

    def required_message(self, field, label) -> Phrase:
        if field.accepts_none:
            return _t('请填写%(label)s；确无内容请填写"%(none)s"', label=_named(label, field),
                      none=NONE_VALUE)
        return _t("请填写%(label)s，应为%(hint)s", label=_named(label, field), hint=field.hint())

    def none_message(self, field, label) -> Phrase:
        return _t('%(label)s不能填写"%(none)s"，应为%(hint)s', label=_named(label, field),
                  none=NONE_VALUE, hint=field.hint())

    def looks_multiple(self, value: str) -> bool:
        return bool(_MULTI_SEPARATORS.search(value))

    def multiple_message(self, field, label) -> Phrase:
        return _t("%(label)s只能填写一个号码，请删除多余的号码；应为%(hint)s",
                  label=_named(label, field), hint=field.hint())

    def check_value(self, field, value: str, label: Any) -> Optional[tuple]:
        """The kind's own check of a non-empty value that passed the generic ones."""
        if self.matches(field, value):
            return None
        return "format", _t("%(label)s应为%(hint)s", label=_named(label, field), hint=field.hint())

    def matches(self, field, value: str) -> bool:
        return True

    # -- the model ----------------------------------------------------------------------------

    def column(self, field) -> ColumnSpec:
        """The field's column: text as long as the field allows."""
        return ColumnSpec("text", length=field.max_length)


# --------------------------------------------------------------------------------------------
# The built-in kinds


class TextKind(FieldKind):
    """Free text on one line: full-width Chinese punctuation stays, a pasted line break becomes a
    space."""

    name = TEXT
    label = pair("文字", "text")

    def normalize(self, value: Any) -> Any:
        if value.__class__ is not str:
            value = to_text(value)
            if not isinstance(value, str):
                return value
        if not value.isascii() and _CHANGES_RE.search(value):
            value = value.translate(_INVISIBLE).translate(_FULLWIDTH_ALNUM)
        value = value.strip()
        if "\n" in value or "\r" in value:
            value = _LINEBREAK_RE.sub(" ", value)
        return NONE_VALUE if value in _NONE_SPELLINGS else value

    def good_value(self, field):
        return _always

    def none_message(self, field, label) -> Phrase:
        return _t('%(label)s不能填写"%(none)s"，请填写实际内容', label=_named(label, field),
                  none=NONE_VALUE)

    def check_value(self, field, value, label):
        return None


def _always(value):
    return True


_URL_SCHEME_RE = re.compile(r"^(https?)://", re.I)
_HOST_LABEL = r"[A-Za-z0-9\u4e00-\u9fff](?:[A-Za-z0-9\u4e00-\u9fff\-]{0,61}[A-Za-z0-9\u4e00-\u9fff])?"
_URL_RE = re.compile(
    r"https?://"
    rf"(?P<host>(?:{_HOST_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9\-]{{1,59}}|[\u4e00-\u9fff]{{1,10}})"
    r"|\d{1,3}(?:\.\d{1,3}){3})"
    r"(?::(?P<port>\d{1,5}))?"
    r"(?:[/?#][^\s]*)?"
)
_DOTTED_DIGITS_RE = re.compile(r"[\d.]+")
_PLAIN_URL_RE = re.compile(rf"https?://(?:{_HOST_LABEL}\.)+[A-Za-z]{{2,63}}(?:[/?#][^\s]*)?")


class UrlKind(FieldKind):
    name = URL
    label = pair("网址", "URL")
    default_example = "http://www.example.gov.cn/"

    def canonical(self, value):
        if value.startswith(("http://", "https://")):
            return value
        # Schemes are case-insensitive; lower-case them so the format check stays simple.
        return _URL_SCHEME_RE.sub(lambda m: m.group(1).lower() + "://", value)

    def good_value(self, field):
        # The common address (a host name, no port) in one match; the rest take ``matches``.
        return _PLAIN_URL_RE.fullmatch

    def hint(self, field):
        return _t("以 http:// 或 https:// 开头的完整网址，如 %(example)s%(tail)s",
                  example=self.example(field), tail=self.none_tail(field))

    def matches(self, field, value):
        match = _URL_RE.fullmatch(value)
        if not match:
            return False
        host = match.group("host")
        if _DOTTED_DIGITS_RE.fullmatch(host) and any(int(part) > 255 for part in host.split(".")):
            return False
        port = match.group("port")
        return port is None or 0 < int(port) <= 65535


class PatternKind(FieldKind):
    """A kind whose good values are exactly the full matches of ``pattern`` (numbers and codes);
    ``rewrite`` turns what people type into that form, after the dashes of Chinese input methods
    have become hyphens (a value that already matches is left alone). Not registered (no
    name)."""

    pattern: re.Pattern = re.compile(".*")

    def canonical(self, value):
        return value if self.pattern.fullmatch(value) else self.rewrite(value.translate(_DASHES))

    def rewrite(self, value: str) -> str:
        return value

    def matches(self, field, value):
        return self.pattern.fullmatch(value) is not None

    def good_value(self, field):
        return self.pattern.fullmatch


_PHONE_RE = re.compile(r"0\d{2,3}-\d{7,8}(?:-\d{1,6})?")
_AREA_PARENS_RE = re.compile(r"^\(\s*(0\d{2,3})\s*\)\s*-?\s*")
_EXTENSION_RE = re.compile(r"\s*(?:转|分机|ext\.?)\s*(\d{1,6})$", re.I)
_AREA_SPACE_RE = re.compile(r"^(0\d{2,3})\s+(?=\d{7,8}(?:-|$))")
_HYPHENS_RE = re.compile(r"\s*-+\s*")
_TWO_PHONES_RE = re.compile(r"0\d{2,3}-\d{7,8}")


class PhoneKind(PatternKind):
    # A full match is never "several numbers" (20 characters at most).
    name = PHONE
    label = pair("电话号码", "phone number")
    default_example = "010-12345678-123"
    single_value = True
    pattern = _PHONE_RE

    def rewrite(self, value):
        # (010)12345678 and （010）12345678 are common ways to write the area code.
        value = _AREA_PARENS_RE.sub(r"\1-", value)
        # 010-12345678转123 / 分机 / ext: the extension becomes "-123".
        value = _EXTENSION_RE.sub(r"-\1", value)
        # "010 12345678": a space after the area code is one number written loosely.
        value = _AREA_SPACE_RE.sub(r"\1-", value)
        return _HYPHENS_RE.sub("-", value)

    def hint(self, field):
        return _t('"区号-号码"，可带分机号，如 %(example)s%(tail)s', example=self.example(field),
                  tail=self.none_tail(field))

    def looks_multiple(self, value):
        return bool(_MULTI_SEPARATORS.search(value)) or len(_TWO_PHONES_RE.findall(value)) > 1


_MOBILE_RE = re.compile(r"1\d{10}")
_MOBILE_GROUPING_RE = re.compile(r"[\s-]")
_MOBILE_WITH_COUNTRY_RE = re.compile(r"(?:\+?86)?1\d{10}")


class MobileKind(PatternKind):
    name = MOBILE
    label = pair("手机号码", "mobile number")
    default_example = "13812345678"
    single_value = True
    pattern = _MOBILE_RE

    def rewrite(self, value):
        # 138 1234 5678 / 138-1234-5678 / +86 13812345678: strip the grouping only when what is
        # left is exactly one number, so "two numbers separated by a space" is still caught.
        digits = _MOBILE_GROUPING_RE.sub("", value)
        if _MOBILE_WITH_COUNTRY_RE.fullmatch(digits):
            return digits[-11:]
        return value

    def hint(self, field):
        return _t("以 1 开头的 11 位手机号码，如 %(example)s%(tail)s", example=self.example(field),
                  tail=self.none_tail(field))

    def looks_multiple(self, value):
        if _MULTI_SEPARATORS.search(value):
            return True
        # 2213812345678…: two mobile numbers typed without a separator.
        return value.isdigit() and len(value) >= 22 and len(value) % 11 == 0


_EMAIL_RE = re.compile(
    r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


class EmailKind(FieldKind):
    name = EMAIL
    label = pair("电子邮箱", "email address")
    default_example = "zhangsan@example.gov.cn"
    single_value = True

    def canonical(self, value):
        if value[:7].lower() == "mailto:":
            value = value[7:].strip()
        if value.count("@") == 1 and not _MULTI_SEPARATORS.search(value):
            local, domain = value.split("@")
            value = f"{local}@{domain.lower()}"
        return value

    def hint(self, field):
        return _t("规范的电子邮箱地址，如 %(example)s%(tail)s", example=self.example(field),
                  tail=self.none_tail(field))

    def looks_multiple(self, value):
        return bool(_MULTI_SEPARATORS.search(value)) or value.count("@") > 1

    def multiple_message(self, field, label):
        return _t("%(label)s只能填写一个邮箱地址，请删除多余的邮箱地址；应为%(hint)s",
                  label=_named(label, field), hint=field.hint())

    def matches(self, field, value):
        return _EMAIL_RE.fullmatch(value) is not None

    def good_value(self, field):
        # The pattern allows one @ and none of the separators: never "several addresses".
        return _EMAIL_RE.fullmatch


_ICP_RE = re.compile(rf"[{ICP_PROVINCES}]ICP备\d{{4,12}}号(?:-\d{{1,4}})?")
_SPACES_RE = re.compile(r"\s+")
_ICP_WORD_RE = re.compile(r"icp", re.I)


class IcpKind(PatternKind):
    name = ICP
    label = pair("ICP备案编号", "ICP filing number")
    default_example = "京ICP备05070602号-1"
    pattern = _ICP_RE

    def rewrite(self, value):
        value = _SPACES_RE.sub("", value)
        return _ICP_WORD_RE.sub("ICP", value)

    def hint(self, field):
        return _t('"省份简称ICP备数字号"，可带"-序号"，如 %(example)s%(tail)s',
                  example=self.example(field), tail=self.none_tail(field))


class ChoiceKind(FieldKind):
    """One of the field's ``choices`` (stored as the Chinese choice: it is census data)."""

    name = CHOICE
    label = pair("单选", "choice")
    widget = "choice"

    def validate_field(self, field):
        super().validate_field(field)
        if not field.choices:
            raise ValueError(f"field {field.name}: a choice field needs choices")

    def hint(self, field):
        names = [field.choice_label(c) for c in field.choices]
        quoted = [pair(f"“{c}”", f"“{c.en}”" if c.en else "") for c in names]
        if len(quoted) == 2:
            return _t("%(first)s或%(second)s", first=quoted[0], second=quoted[1])
        english = ", ".join(q.en or str(q) for q in quoted) if field.choices_en else ""
        return _t("以下之一：%(choices)s", choices=pair("、".join(quoted), english))

    def required_message(self, field, label):
        return _t("请选择%(label)s：%(hint)s", label=_named(label, field), hint=field.hint())

    def good_value(self, field):
        return frozenset(field.choices).__contains__

    def check_value(self, field, value, label):
        if value in field.choices:
            return None
        return "choice", _t("%(label)s应为%(hint)s，不能填写“%(value)s”", label=_named(label, field),
                            hint=field.hint(), value=value)


_YES = {"是", "yes", "y", "true", "t", "1", "√", "✓", "✔", "对"}
_NO = {"否", "no", "n", "false", "f", "0", "×", "✗", "✘", "x", "错"}


class YesNoKind(ChoiceKind):
    """是 or 否, a pick between the two; also understands Yes/No, Y/N, true/false, 1/0, √/×
    (what spreadsheets and other tools write). Stored in a Boolean column."""

    name = YES_NO
    label = pair("是/否", "yes/no")
    fixed_choices = ("是", "否")
    fixed_choices_en = ("Yes", "No")

    def normalize(self, value: Any) -> Any:
        if isinstance(value, bool):
            return "是" if value else "否"
        return super().normalize(value)

    def canonical(self, value):
        if value in self.fixed_choices:
            return value
        word = value.lower()
        if word in _YES:
            return "是"
        if word in _NO:
            return "否"
        return value

    def column(self, field) -> ColumnSpec:
        return ColumnSpec("yes_no")


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def decimal_text(number: Decimal) -> str:
    """A decimal as people write it: 7.5, 8, 100 (no exponent, no trailing zeros, no -0)."""
    if number == 0:
        return "0"
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


class NumberKind(FieldKind):
    """What the integer and score kinds share: bounds, a canonical decimal text and a check of
    the bounds. Not registered (no name)."""

    widget = "number"
    bounded = True
    # A number as typed: a sign, digits with optional thousands commas, an optional fraction.
    _NUMBER_RE = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d*)?", re.ASCII)

    def normalize(self, value: Any) -> Any:
        if isinstance(value, float) and value == value and value not in (float("inf"), float("-inf")):
            return decimal_text(Decimal(repr(value)))
        return super().normalize(value)

    def canonical(self, value):
        if not value or not self._NUMBER_RE.fullmatch(value):
            return value
        digits = value.replace(",", "")
        if digits in ("+", "-", ".", "+.", "-.", ""):
            return value
        return decimal_text(Decimal(digits))

    def bounds(self, field) -> tuple:
        return (None if field.min_value is None else _decimal(field.min_value),
                None if field.max_value is None else _decimal(field.max_value))

    def number(self, value: str) -> Optional[Decimal]:
        """The value as a number, or None when it is not one of this kind's numbers."""
        try:
            return Decimal(value) if self._VALUE_RE.fullmatch(value) else None
        except InvalidOperation:
            return None

    def check_value(self, field, value, label):
        number = self.number(value)
        if number is None:
            return "format", _t("%(label)s应为%(hint)s", label=_named(label, field), hint=field.hint())
        low, high = self.bounds(field)
        if (low is not None and number < low) or (high is not None and number > high):
            return "range", _t("%(label)s应为%(hint)s，不能填写“%(value)s”",
                               label=_named(label, field), hint=field.hint(), value=value)
        return None


class IntegerKind(NumberKind):
    """A whole number, between ``min_value`` and ``max_value`` when the field gives them;
    1,234 / １２ / 12.0 are read as 1234 / 12 / 12."""

    name = INTEGER
    label = pair("整数", "whole number")
    _VALUE_RE = re.compile(r"-?\d+", re.ASCII)

    def validate_field(self, field):
        super().validate_field(field)
        for name in ("min_value", "max_value"):
            bound = getattr(field, name)
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
                raise ValueError(f"field {field.name}: {name} of an integer field must be an int")
        if field.step is not None:
            raise ValueError(f"field {field.name}: an integer field takes no step")
        if field.accepts_none:
            raise ValueError(f"field {field.name}: a number field cannot accept 无; make it "
                             "optional instead")
        low, high = field.min_value, field.max_value
        if low is not None and high is not None and low > high:
            raise ValueError(f"field {field.name}: min_value is above max_value")

    def example(self, field):
        if field.example:
            return field.example
        low, high = field.min_value, field.max_value
        sample = 10
        if low is not None and sample < low:
            sample = low
        if high is not None and sample > high:
            sample = high
        return str(sample)

    def hint(self, field):
        low, high, example = field.min_value, field.max_value, self.example(field)
        if low is not None and high is not None:
            return _t("%(min)s 至 %(max)s 之间的整数，如 %(example)s", min=low, max=high,
                      example=example)
        if low is not None:
            return _t("不小于 %(min)s 的整数，如 %(example)s", min=low, example=example)
        if high is not None:
            return _t("不大于 %(max)s 的整数，如 %(example)s", max=high, example=example)
        return _t("整数，如 %(example)s", example=example)

    def check_value(self, field, value, label):
        problem = super().check_value(field, value, label)
        if problem is None and abs(int(value)) > _BIGINT_MAX:
            return "range", _t("%(label)s应为%(hint)s，不能填写“%(value)s”",
                               label=_named(label, field), hint=field.hint(), value=value)
        return problem

    def column(self, field) -> ColumnSpec:
        low, high = field.min_value, field.max_value
        return ColumnSpec("integer",
                          big=low is None or high is None or low < -_INT_MAX or high > _INT_MAX)


_INT_MAX = 2 ** 31 - 1
_BIGINT_MAX = 2 ** 63 - 1


class ScoreKind(NumberKind):
    """A mark from ``min_value`` (0 unless given) to the full mark ``max_value``, in steps of
    ``step`` (1 unless given; 0.5 for half marks); "8.50" and "8.5分" are read as 8.5. Stored
    in a Numeric column exact to the step."""

    name = SCORE
    label = pair("分数", "score")
    _VALUE_RE = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)

    def canonical(self, value):
        if value.endswith("分") and len(value) > 1:
            value = value[:-1].rstrip()
        return super().canonical(value)

    def validate_field(self, field):
        super().validate_field(field)
        if field.max_value is None:
            raise ValueError(f"field {field.name}: a score field needs max_value (the full mark)")
        if field.accepts_none:
            raise ValueError(f"field {field.name}: a number field cannot accept 无; make it "
                             "optional instead")
        try:
            low, high, step = self.bounds(field) + (self.step(field),)
        except InvalidOperation:
            raise ValueError(f"field {field.name}: min_value, max_value and step must be "
                             "numbers") from None
        if step <= 0 or low > high or low % step or high % step:
            raise ValueError(f"field {field.name}: step must be above 0 and min_value and "
                             "max_value multiples of it, min_value not above max_value")

    def bounds(self, field):
        low, high = super().bounds(field)
        return (Decimal(0) if low is None else low), high

    @staticmethod
    def step(field) -> Decimal:
        return Decimal(1) if field.step is None else _decimal(field.step)

    def example(self, field):
        return field.example or decimal_text(self.bounds(field)[1])

    def hint(self, field):
        low, high = self.bounds(field)
        return _t("%(min)s 至 %(max)s 之间的分数，须为 %(step)s 的整数倍，如 %(example)s",
                  min=decimal_text(low), max=decimal_text(high),
                  step=decimal_text(self.step(field)), example=self.example(field))

    def check_value(self, field, value, label):
        problem = super().check_value(field, value, label)
        if problem is None and Decimal(value) % self.step(field):
            return "step", _t("%(label)s应为%(hint)s，不能填写“%(value)s”",
                              label=_named(label, field), hint=field.hint(), value=value)
        return problem

    def column(self, field) -> ColumnSpec:
        scale = max(0, -self.step(field).normalize().as_tuple().exponent)
        low, high = self.bounds(field)
        whole = max(len(str(int(abs(low)))), len(str(int(abs(high)))))
        return ColumnSpec("score", precision=whole + scale, scale=scale)
