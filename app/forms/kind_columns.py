"""The SQLAlchemy column types of the number and yes/no kinds (app/forms/kinds.py).

A document holds text ("12", "8.5", "是"); its column holds the typed value, so SQL can sum,
compare and sort. Each type takes the document's text on the way in (empty text, or 无, is NULL)
and gives back what the list page and the Excel export show: integers as int, scores as Decimal
(numbers in a spreadsheet), yes/no as 是/否 (a boolean has no Chinese face). The DDL is the plain
type's: INTEGER/BIGINT, NUMERIC(p, s), BOOLEAN.

Imported only by ``FieldKind.column_type``: the desktop filler imports the kinds and bundles no
SQLAlchemy.
"""
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Integer, Numeric
from sqlalchemy.types import TypeDecorator

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
