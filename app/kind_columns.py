"""The SQLAlchemy column type of a schema field, from the plain ``ColumnSpec`` its kind gives.

app/forms/kinds.py says how a kind's value is stored (``"text"``, ``"integer"``, ``"score"``,
``"yes_no"``) as data, and this module, on the server only, turns that into a type: the kinds stay
free of SQLAlchemy because the desktop filler imports them and bundles none. A plugin whose kind
needs a storage of its own registers it here from its models module (``register_storage``).

A document holds text ("12", "8.5", "是"); its column holds the typed value, so SQL can sum,
compare and sort. Each type takes the document's text on the way in (empty text, or 无, is NULL)
and gives back what the list page and the Excel export show: integers as int, scores as Decimal
(numbers in a spreadsheet), yes/no as 是/否 (a boolean has no Chinese face). The DDL is the plain
type's: INTEGER/BIGINT, NUMERIC(p, s), BOOLEAN.
"""
from decimal import Decimal
from typing import Callable

from sqlalchemy import BigInteger, Boolean, Integer, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

from app.forms.kinds import NONE_VALUE


def _blank(value):
    return value is None or value == "" or value == NONE_VALUE


class IntegerColumn(TypeDecorator):
    """INTEGER (BIGINT when ``big``) from the document's text."""

    impl = Integer
    cache_ok = True

    def __init__(self, big=False):
        super().__init__()
        self.big = big

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(BigInteger() if self.big else Integer())

    def process_bind_param(self, value, dialect):
        return None if _blank(value) else int(value)


class ScoreColumn(TypeDecorator):
    """NUMERIC(precision, scale) from the document's text, read back as Decimal."""

    impl = Numeric
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if _blank(value) else Decimal(str(value))


class YesNoColumn(TypeDecorator):
    """BOOLEAN from 是/否, read back as 是/否."""

    impl = Boolean
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if _blank(value):
            return None
        if isinstance(value, bool):
            return value
        return {"是": True, "否": False}[value]

    def process_result_value(self, value, dialect):
        return None if value is None else ("是" if value else "否")


STORAGES: dict[str, Callable[..., TypeEngine]] = {
    "text": lambda length: String(length),
    "integer": IntegerColumn,
    "score": lambda precision, scale: ScoreColumn(precision, scale),
    "yes_no": YesNoColumn,
}


def register_storage(name: str, make_type: Callable[..., TypeEngine]) -> None:
    """Add a storage a plugin's kind names in its ``ColumnSpec``; ``make_type(**params)`` gives
    the SQLAlchemy type. A name is taken once: two plugins cannot disagree about it."""
    if name in STORAGES and STORAGES[name] is not make_type:
        raise ValueError(f"column storage {name!r} is already registered")
    STORAGES[name] = make_type


def column_type(field) -> TypeEngine:
    """The SQLAlchemy type of ``field``'s model column."""
    spec = field.column()
    try:
        make_type = STORAGES[spec.storage]
    except KeyError:
        raise ValueError(f"field {field.name}: no column storage {spec.storage!r} is registered "
                         f"(app/kind_columns.py register_storage)") from None
    return make_type(**spec.params)
