"""SQLAlchemy columns generated from a form schema, so the model follows the schema.

``schema_columns(schema)`` gives one nullable text column per field (length from the schema);
``table_row_columns(table)`` gives the columns of a repeatable table's row model. Adding a field
to a schema adds the column to the model; ``flask pucha db-revision <plugin> -m …`` writes the
plugin's migration for it and ``flask pucha upgrade-db`` applies that to a database that already
holds data (docs/migrations.md).
"""
from sqlalchemy import Column, String


def schema_columns(schema):
    return {field.name: Column(String(field.max_length), nullable=True, info={"label": field.label})
            for field in schema.fields}


def table_row_columns(table):
    return {col.name: Column(String(col.max_length), nullable=True, info={"label": col.label})
            for col in table.columns}


def columns_mixin(name, columns):
    """A declarative mixin class carrying ``columns`` (SQLAlchemy copies them per subclass)."""
    return type(name, (), dict(columns))
