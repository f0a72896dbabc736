"""SQLAlchemy columns generated from a form schema, so the model follows the schema.

``schema_columns(schema)`` gives one nullable column per field, of the type its kind says
(``app.kind_columns.column_type``: text as long as the field allows, INTEGER/BIGINT, NUMERIC,
BOOLEAN, from the ``ColumnSpec`` of the field's kind in app/forms/kinds.py);
``table_row_columns(table)`` gives the columns of a repeatable table's row model. Adding a field
to a schema adds the column to the model; ``flask pucha db-revision <plugin> -m …`` writes the
plugin's migration for it and ``flask pucha upgrade-db`` applies that to a database that already
holds data (docs/migrations.md).
"""
from sqlalchemy import Column

from app.kind_columns import column_type


def _column(field):
    return Column(column_type(field), nullable=True, info={"label": field.label})


def schema_columns(schema):
    return {field.name: _column(field) for field in schema.fields}


def table_row_columns(table):
    return {col.name: _column(col) for col in table.columns}


def columns_mixin(name, columns):
    """A declarative mixin class carrying ``columns`` (SQLAlchemy copies them per subclass)."""
    return type(name, (), dict(columns))
