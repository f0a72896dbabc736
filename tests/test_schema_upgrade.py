"""`flask pucha upgrade-db` (and `setup`) bring a database that already holds data up to the
models: a column added to a model or a form schema appears, the data stays."""
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, inspect, text

from app.schema_upgrade import SchemaUpgradeError, upgrade


def test_missing_column_is_added_and_rows_are_kept(app, session):
    from app.extensions import db

    session.execute(text("ALTER TABLE ab_user DROP COLUMN credentials_changed_at"))
    session.commit()
    users = session.execute(text("SELECT count(*) FROM ab_user")).scalar()
    session.commit()  # an open read would hold a lock that ALTER TABLE waits for (PostgreSQL)
    result = app.test_cli_runner().invoke(args=["pucha", "upgrade-db"])
    assert result.exit_code == 0, result.output
    assert "表 ab_user 新增列 credentials_changed_at" in result.output
    columns = {c["name"] for c in inspect(db.engine).get_columns("ab_user")}
    assert "credentials_changed_at" in columns
    assert session.execute(text("SELECT count(*) FROM ab_user")).scalar() == users
    again = app.test_cli_runner().invoke(args=["pucha", "upgrade-db"])
    assert "数据库结构已是最新" in again.output


def test_missing_table_is_created(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    metadata = MetaData()
    Table("t_new", metadata, Column("id", Integer, primary_key=True), Column("name", String(10)))
    assert upgrade(engine, metadata) == ["新建表 t_new"]
    assert upgrade(engine, metadata) == []


def test_a_required_column_without_default_needs_a_migration(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t_old (id INTEGER PRIMARY KEY)"))
    metadata = MetaData()
    Table("t_old", metadata, Column("id", Integer, primary_key=True),
          Column("code", String(10), nullable=False))
    with pytest.raises(SchemaUpgradeError) as error:
        upgrade(engine, metadata)
    assert "缺少必填列 code" in str(error.value)
    assert {c["name"] for c in inspect(engine).get_columns("t_old")} == {"id"}


def test_missing_index_is_created(tmp_path):
    from sqlalchemy import Index

    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t_idx (id INTEGER PRIMARY KEY, kind VARCHAR(10))"))
        connection.execute(text("INSERT INTO t_idx (kind) VALUES ('a')"))
    metadata = MetaData()
    Table("t_idx", metadata, Column("id", Integer, primary_key=True), Column("kind", String(10)),
          Index("ix_t_idx_kind_id", "kind", "id"))
    assert upgrade(engine, metadata) == ["表 t_idx 新建索引 ix_t_idx_kind_id"]
    assert "ix_t_idx_kind_id" in {i["name"] for i in inspect(engine).get_indexes("t_idx")}
    assert upgrade(engine, metadata) == []
