"""Bring an existing database up to the models: create missing tables, add missing columns
and indexes.

Adding a field to a form schema (or a column to a platform model) is the common change during a
census; `flask pucha setup` and `flask pucha upgrade-db` apply it to a database that already
holds data. Only additive changes are made: a new column must be nullable or have a server
default, and renames, type changes or drops are refused with a message — those need a written
migration, because guessing them could lose a census's data.
"""
from sqlalchemy import inspect


class SchemaUpgradeError(RuntimeError):
    """A difference that cannot be applied automatically."""


def _add_column_sql(engine, table, column):
    dialect = engine.dialect
    col_type = column.type.compile(dialect=dialect)
    preparer = dialect.identifier_preparer
    sql = (f"ALTER TABLE {preparer.format_table(table)} "
           f"ADD COLUMN {preparer.format_column(column)} {col_type}")
    if column.server_default is not None:
        sql += f" DEFAULT {column.server_default.arg}"
    return sql


def upgrade(engine, metadata):
    """Create missing tables and add missing columns; return what was done, one line each."""
    done = []
    existing_tables = set(inspect(engine).get_table_names())
    missing_tables = [t for t in metadata.sorted_tables if t.name not in existing_tables]
    if missing_tables:
        metadata.create_all(engine, tables=missing_tables)
        done += [f"新建表 {t.name}" for t in missing_tables]
    inspector = inspect(engine)
    problems, statements = [], []
    for table in metadata.sorted_tables:
        if table in missing_tables:
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable and column.server_default is None:
                problems.append(f"表 {table.name} 缺少必填列 {column.name}，需要编写数据迁移")
                continue
            statements.append((f"表 {table.name} 新增列 {column.name}",
                               _add_column_sql(engine, table, column)))
    if problems:
        raise SchemaUpgradeError("；".join(problems))
    if statements:
        from sqlalchemy import text

        with engine.begin() as connection:
            for _, sql in statements:
                connection.execute(text(sql))
        done += [label for label, _ in statements]
    done += _create_missing_indexes(engine, metadata, missing_tables)
    return done


def _create_missing_indexes(engine, metadata, new_tables):
    """An index a model gained (for a new filter or page) is created; an index is never
    dropped, and one with the same name is taken as it is."""
    inspector = inspect(engine)
    missing = []
    for table in metadata.sorted_tables:
        if table in new_tables:
            continue
        present = {i["name"] for i in inspector.get_indexes(table.name)}
        missing += [index for index in table.indexes if index.name not in present]
    if missing:
        with engine.begin() as connection:
            for index in missing:
                index.create(connection)
    return [f"表 {index.table.name} 新建索引 {index.name}" for index in missing]
