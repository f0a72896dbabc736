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

All values are text, whatever the field's kind (an integer is "12", a yes/no "是"); the model's
columns are typed (app/forms/kinds.py). ``normalize`` turns what people type (full-width digits,
stray spaces, Excel numbers) into canonical text; ``validate`` reports every problem at once,
each with a path the editor can map back to its widget and a Chinese message that names the
field. What each kind of value accepts lives in its ``FieldKind`` (app/forms/kinds.py); the
bilingual text types in app/forms/phrases.py.
"""
from __future__ import annotations

import copy
import re
import uuid as uuid_module
from dataclasses import dataclass, field as dc_field
from typing import Any, Optional

# The kind names and the text types are this module's API too: a schema imports everything it
# declares from here.
from app.forms.kinds import (  # noqa: F401
    CHOICE,
    EMAIL,
    ICP,
    INTEGER,
    MOBILE,
    NONE_VALUE,
    PHONE,
    SCORE,
    TEXT,
    URL,
    YES_NO,
    FieldKind,
    kind_named,
    type_name,
)
from app.forms.phrases import Bilingual, Phrase, _t, pair  # noqa: F401

# Top-level keys of a document that are not tables.
RESERVED_KEYS = ("uuid", "fields", "meta")


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


def _json_copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, immutable scalars), several times faster
    than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {key: _json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_copy(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return copy.deepcopy(value)


def normalize_value(kind: str, value: Any) -> Any:
    """Canonical text for one value of the given kind; non-text values are returned unchanged."""
    return kind_named(kind).normalize(value)


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


_URL_KIND = kind_named(URL)


def website_key(url: Any) -> Optional[str]:
    """The identity of a website, from its 首页网址: one website has one form and one 网站标识码
    (seed 000 注意事项). Two addresses name the same website when they differ only in the scheme
    (http/https), a leading ``www.``, letter case, the default port (80, 443) or a trailing slash;
    the query and the fragment are not part of it. ``None`` for no address (blank or 无).
    docs/basic-info.md states the rule; the filler and the server both use this function."""
    if not isinstance(url, str):
        return None
    text = _URL_KIND.normalize(url).strip()
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

    ``kind`` names a registered ``FieldKind`` (``TEXT``, ``URL``, … or a plugin's own; a kind
    object or class is taken too and stored by its name); ``field_kind`` is that object, looked
    up once here. ``accepts_none``: whether 无 is a valid answer (seed 000: free-text items
    accept 无). ``hidden``: set by the server on import (e.g. 省/部, 市, 县); the filler neither
    shows nor writes it and document validation skips it unless asked. ``min_value``,
    ``max_value`` and ``step`` bound the number kinds (integer, score). ``label_en``/``help_en``
    are the English UI's; ``choices_en`` names each of ``choices`` in English (the stored value
    stays the Chinese choice: it is census data).
    """

    name: str
    label: str
    kind: Any = TEXT
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
    min_value: Any = None
    max_value: Any = None
    step: Any = None
    field_kind: FieldKind = dc_field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(self.name)):
            raise ValueError(f"field name {self.name!r} must be snake_case ASCII")
        try:
            kind = kind_named(self.kind)
        except ValueError as error:
            raise ValueError(f"field {self.name}: {error}") from None
        object.__setattr__(self, "kind", kind.name)
        object.__setattr__(self, "field_kind", kind)
        if kind.fixed_choices:
            if self.choices and tuple(self.choices) != kind.fixed_choices:
                raise ValueError(f"field {self.name}: a {kind.name} field's choices are "
                                 f"{'/'.join(kind.fixed_choices)}")
            object.__setattr__(self, "choices", kind.fixed_choices)
            object.__setattr__(self, "choices_en", self.choices_en or kind.fixed_choices_en)
        if self.choices_en and len(self.choices_en) != len(self.choices):
            raise ValueError(f"field {self.name}: choices_en must name every choice")
        kind.validate_field(self)
        # The field's check, resolved once (validation runs it on every form of a package).
        object.__setattr__(self, "_check", kind.checker(self))

    def choice_label(self, value: str) -> Phrase:
        """``value`` (a stored choice) with its English name, for display."""
        if value in self.choices and self.choices_en:
            return pair(value, self.choices_en[self.choices.index(value)])
        return pair(value, "")

    @property
    def example_value(self) -> str:
        return self.field_kind.example(self)

    @property
    def widget(self) -> str:
        """What an editor shows: "text" (typed), "number" (typed, a number) or "choice" (a pick
        from ``choice_values``)."""
        return self.field_kind.widget

    @property
    def choice_values(self) -> tuple:
        """The values an editor offers to pick from; empty when the value is typed."""
        return self.field_kind.choices(self)

    def hint(self) -> Phrase:
        """What is expected, in Chinese, without the label: for tooltips and messages."""
        return self.field_kind.hint(self)

    def normalize(self, value: Any) -> Any:
        return self.field_kind.normalize(value)

    def check(self, value: Any, label: Any = None) -> Optional[tuple]:
        """Check one already-normalized value: ``None`` when fine, else ``(code, message)``.

        ``label`` replaces the field's own label in the message (table cells use
        "信息发布类—动态要闻第3行地址"); it may be a function giving the label, called only when
        there is a message to write (most values are fine, and naming every table cell costs).
        """
        return self._check(value, label)

    def column(self):
        """This field's column as plain data (app/kind_columns.py makes the SQLAlchemy type)."""
        return self.field_kind.column(self)

    def describe(self) -> dict:
        out = {
            "name": self.name,
            "label": self.label,
            "label_en": self.label_en,
            "kind": self.kind,
            "widget": self.widget,
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
        if self.field_kind.bounded:
            out.update(min_value=_json_number(self.min_value), max_value=_json_number(self.max_value),
                       step=_json_number(self.step))
        return out


def _json_number(value: Any) -> Any:
    return value if value is None or isinstance(value, (int, float)) else str(value)


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
        # What normalize and validate need for every row, resolved once.
        object.__setattr__(self, "_column_names", tuple(names))
        object.__setattr__(self, "_column_set", frozenset(names))
        object.__setattr__(self, "_normalizers", {c.name: c.field_kind.normalize for c in self.columns})
        object.__setattr__(self, "_column_checks", tuple((c, c._check) for c in self.columns))
        object.__setattr__(self, "_group_keys", frozenset(g.key for g in self.groups))
        object.__setattr__(self, "_slot_pairs", tuple(self.slots()))
        object.__setattr__(self, "_group_slots",
                           tuple((g, frozenset(s.key for s in g.slots)) for g in self.groups))

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
        # Resolved once per schema, used for every form: normalize and validate run on each form
        # of an imported package.
        object.__setattr__(self, "_field_normalizers",
                           {f.name: f.field_kind.normalize for f in self.fields})
        object.__setattr__(self, "_tables_by_name", {t.name: t for t in self.tables})
        object.__setattr__(self, "_top_keys", frozenset(RESERVED_KEYS) | {t.name for t in self.tables})
        object.__setattr__(self, "_all_checks", tuple((f, f._check) for f in self.fields))
        object.__setattr__(self, "_visible_checks",
                           tuple((f, f._check) for f in self.fields if not f.hidden))

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
        table = self._tables_by_name.get(table_name) or self.table(table_name)
        value = data.get(table_name) if isinstance(data, dict) else None
        rows = []
        if not isinstance(value, dict):
            return rows
        names = table._column_names
        for group, slot in table._slot_pairs:
            group_value = value.get(group.key)
            slot_rows = group_value.get(slot.key) if isinstance(group_value, dict) else None
            if not isinstance(slot_rows, list):
                continue
            for position, row in enumerate(slot_rows):
                if not isinstance(row, dict):
                    continue
                item = {"group": group.key, "group_label": group.label,
                        "slot": slot.key, "slot_label": slot.label, "position": position}
                for name in names:
                    cell = row.get(name, "")
                    item[name] = cell if isinstance(cell, str) else ""
                rows.append(item)
        return rows

    def normalize(self, data: Any) -> Any:
        """A normalized copy of ``data`` (the input is left as it was); parts that are not the
        expected shape are kept as they are so that ``validate`` can report them.

        The copy is built as it is normalized, not copied first and rewritten: every form of an
        imported package passes through here, and a deep copy first cost a third of the time.
        """
        if not isinstance(data, dict):
            return _json_copy(data)
        normalizers, tables = self._field_normalizers, self._tables_by_name
        out = {}
        for key, value in data.items():
            if key == "fields" and isinstance(value, dict):
                out[key] = {name: (normalizers[name](item if item.__class__ is str else _json_copy(item))
                                   if name in normalizers else _json_copy(item))
                            for name, item in value.items()}
            elif key in tables and isinstance(value, dict):
                out[key] = _normalize_table(tables[key], value)
            elif key == "uuid" and isinstance(value, str):
                out[key] = value.strip().lower()
            else:
                out[key] = _json_copy(value)
        return out

    def validate(self, data: Any, include_hidden: bool = False) -> list:
        """Every problem in ``data`` (expected to be normalized) as a list of ``FieldError``.

        Hidden (server-set) fields are skipped unless ``include_hidden``: the filler never has
        them and the server sets them itself on import.
        """
        if not isinstance(data, dict):
            return [FieldError("", self.text_label, _t("%(form)s的内容应为 JSON 对象，不能是%(type)s",
                                                       form=self.text_label, type=type_name(data)),
                               "type")]
        errors = []
        if not self._top_keys.issuperset(data):
            for key in data:
                if key not in self._top_keys:
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
            errors.extend(_validate_table(table, data.get(table.name)))
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
        if not self._by_name.keys() >= fields.keys():
            for name in fields:
                if name not in self._by_name:
                    errors.append(FieldError(f"fields.{name}", str(name), _t(
                        "表单中有未知字段“%(name)s”，可能来自其他版本的填报客户端或被手工修改过",
                        name=name), "unknown"))
        get = fields.get
        for f, check in (self._all_checks if include_hidden else self._visible_checks):
            problem = check(get(f.name, ""))
            if problem:
                errors.append(FieldError(f"fields.{f.name}", f.text_label, problem[1], problem[0]))
        return errors


def _normalize_table(table: Table, value: dict) -> dict:
    normalizers, none_column, names = table._normalizers, table.none_column, table._column_names
    out = {}
    for group_key, group_value in value.items():
        if not isinstance(group_value, dict):
            out[group_key] = _json_copy(group_value)
            continue
        group_out = out[group_key] = {}
        for slot_key, rows in group_value.items():
            if not isinstance(rows, list):
                group_out[slot_key] = _json_copy(rows)
                continue
            new_rows = group_out[slot_key] = []
            for row in rows:
                if not isinstance(row, dict):
                    new_rows.append(_json_copy(row))
                    continue
                new = {key: (normalizers[key](cell if cell.__class__ is str else _json_copy(cell))
                             if key in normalizers else _json_copy(cell))
                       for key, cell in row.items()}
                if new.get(none_column) == NONE_VALUE:
                    # A "none" row: store 无 in every column so it reads the same everywhere.
                    for name in names:
                        if new.get(name, "") in ("", NONE_VALUE):
                            new[name] = NONE_VALUE
                new_rows.append(new)
    return out


def _validate_table(table: Table, value: Any) -> list:
    table_label = table.text_label
    if not isinstance(value, dict):
        return [FieldError(table.name, table_label,
                           _t("缺少%(table)s，或其格式不正确", table=table_label), "type")]
    errors = []
    group_keys = table._group_keys
    min_rows, max_rows, none_column = table.min_rows, table.max_rows, table.none_column
    columns, column_set = table._column_checks, table._column_set
    if not group_keys.issuperset(value):
        for key in value:
            if key not in group_keys:
                errors.append(FieldError(f"{table.name}.{key}", str(key), _t(
                    "%(table)s中有未知分组“%(key)s”", table=table_label, key=key), "unknown"))
    for group, slot_keys in table._group_slots:
        group_value = value.get(group.key)
        if not isinstance(group_value, dict):
            errors.append(FieldError(f"{table.name}.{group.key}", group.text_label, _t(
                "%(table)s缺少“%(group)s”，或其格式不正确", table=table_label,
                group=group.text_label), "type"))
            continue
        if not slot_keys.issuperset(group_value):
            for key in group_value:
                if key not in slot_keys:
                    errors.append(FieldError(f"{table.name}.{group.key}.{key}", str(key), _t(
                        "%(table)s“%(group)s”中有未知栏目类别“%(key)s”", table=table_label,
                        group=group.text_label, key=key), "unknown"))
        for slot in group.slots:
            rows = group_value.get(slot.key)
            if not (rows.__class__ is list and min_rows <= len(rows) <= max_rows
                    and _rows_look_fine(columns, column_set, none_column, rows)):
                errors.extend(_validate_slot(table, group, slot, rows))
    return errors


def _rows_look_fine(columns: tuple, column_set: frozenset, none_column: str, rows: list) -> bool:
    """True when every row of a slot is a real entry that passes every check, or the slot's
    one 无 row is clean: the common case, answered without naming anything. Anything else goes
    through ``_validate_slot``, which names each problem."""
    for row in rows:
        if row.__class__ is not dict or not column_set.issuperset(row):
            return False
        get = row.get
        if get(none_column) == NONE_VALUE:
            if len(rows) > 1:
                return False
            for col, check in columns:
                if get(col.name, "") not in ("", NONE_VALUE):
                    return False
            continue
        for col, check in columns:
            if check(get(col.name, "")) is not None:
                return False
    return True


def _validate_slot(table: Table, group: Group, slot: Slot, rows: Any) -> list:
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
    column_set, none_column = table._column_set, table.none_column
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
            if key not in column_set:
                errors.append(FieldError(f"{row_path}.{key}", str(key), _t(
                    "%(row)s中有未知内容“%(key)s”", row=row_label(), key=key), "unknown"))
        if row.get(none_column) == NONE_VALUE:
            if len(rows) > 1:
                errors.append(FieldError(
                    f"{row_path}.{none_column}",
                    _cell_label(row_label(), table.column(none_column)), _t(
                        '%(slot)s已填写了%(item)s，第 %(row)s 行不应再填写"%(none)s"，请删除该行',
                        slot=slot_label(), item=table.text_item_label, row=i + 1,
                        none=NONE_VALUE),
                    "none_conflict"))
            for col in table.columns:
                cell = row.get(col.name, "")
                if col.name != none_column and cell not in ("", NONE_VALUE):
                    errors.append(FieldError(
                        f"{row_path}.{col.name}", _cell_label(row_label(), col), _t(
                            '%(row)s名称为"%(none)s"，%(column)s也应为"%(none)s"或留空',
                            row=row_label(), none=NONE_VALUE, column=col.text_label),
                        "none_conflict"))
            continue
        # A blank row needs one answer (a name, or 无), not one complaint per column.
        blank = all(row.get(c.name, "") in ("", None) for c in table.columns)
        for col, check in table._column_checks:
            if blank and col.name != none_column:
                continue
            cell = row.get(col.name, "")
            if check(cell) is None:
                continue
            cell_label = _cell_label(row_label(), col)
            code, message = check(cell, cell_label)
            if code == "required" and col.name == none_column:
                message = _t('请填写%(cell)s；确无此类%(item)s请填写"%(none)s"',
                             cell=cell_label, item=table.text_item_label, none=NONE_VALUE)
            errors.append(FieldError(f"{row_path}.{col.name}", cell_label, message, code))
    return errors


UUID_LABEL = pair("内部标识", "Internal ID")


def _cell_label(row_label: Phrase, column: Field) -> Phrase:
    """"信息发布类—动态要闻第 3 行地址": one cell of a table, named in messages."""
    return _t("%(row)s%(column)s", row=row_label, column=column.text_label)
