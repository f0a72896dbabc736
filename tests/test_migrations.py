"""The schema is Alembic's: the platform's revisions and each plugin's own (app/migrate.py).

On SQLite and on PostgreSQL: the revisions build exactly what the models declare; a database
made by the release before Alembic, holding data, is adopted and upgraded with every row intact;
a plugin's own revision folder adds its tables without a change to ``app/``; server defaults
reach the database as values (the hand-written upgrader this replaced wrote them unquoted).
"""
import textwrap

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, create_engine, inspect, select, text

from app import hookimpl
from app.migrate import (PLATFORM_BASELINE, MigrationError, alembic_config, current_revisions,
                         pending_differences, upgrade_connection)
from app.plugins import build_plugin_manager
from tests.conftest import app_in_context, base_overrides

DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DIALECTS)
def empty_db_url(request, tmp_path):
    """The URL of an empty database of each dialect (PostgreSQL under a punctuation-blind
    default collation, as a zh_CN server has)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    from tests.support.postgres import HOSTILE_ICU_LOCALE

    return request.getfixturevalue("pg_database")(icu_locale=HOSTILE_ICU_LOCALE)


@pytest.fixture
def engine_of():
    engines = []

    def make(url):
        engines.append(create_engine(url))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


def builtin_metadata():
    """The tables of the platform, FAB and the built-in plugins: a test that registered a
    throwaway or the sample plugin leaves its models in the shared metadata."""
    from flask_appbuilder import Model

    mapped = {table.name: mapper.class_.__module__
              for mapper in Model.registry.mappers for table in mapper.tables}
    builtin = MetaData()
    for table in Model.metadata.sorted_tables:
        module = mapped.get(table.name, "flask_appbuilder")
        if module.split(".")[0] in ("app", "plugins", "flask_appbuilder"):
            table.to_metadata(builtin)
    return builtin


def builtin_tables():
    """The shared metadata's tables that ``builtin_metadata`` keeps (what ``create_all`` made)."""
    from flask_appbuilder import Model

    return [Model.metadata.tables[name] for name in builtin_metadata().tables]


def default_plugin_manager():
    return build_plugin_manager(allowed_external="")


def every_revision(plugin_manager):
    from alembic.script import ScriptDirectory

    from app.migrate import alembic_config

    return {rev.revision for rev in
            ScriptDirectory.from_config(alembic_config(plugin_manager)).walk_revisions()}


# --- (1) the revisions build what the models declare -----------------------------------------

def test_upgrading_an_empty_database_builds_exactly_the_models(empty_db_url, tmp_path):
    with app_in_context(base_overrides(empty_db_url, tmp_path)) as application:
        from app.extensions import db
        from app.migrate import upgrade_database

        adopted, applied = upgrade_database(application)
        assert adopted == [] and applied[0][0] == PLATFORM_BASELINE
        assert {revision for revision, _ in applied} == every_revision(
            application.extensions["pucha.plugins"])
        with db.engine.connect() as connection:
            assert pending_differences(connection, builtin_metadata()) == []
        if db.engine.dialect.name == "postgresql":
            # Byte-wise paths, or a subtree's range scan loses rows under a zh collation.
            collations = db.session.execute(text(
                "SELECT table_name, column_name, collation_name FROM information_schema.columns "
                "WHERE column_name IN ('path', 'scope_path', 'holder_path') "
                "AND table_schema = 'public'")).all()
            assert {(t, c) for t, c, _ in collations} >= {
                ("org", "path"), ("basic_info_form", "scope_path"),
                ("basic_info_form", "holder_path"), ("audit_event", "scope_path")}
            assert {collation for _, _, collation in collations} == {"C"}
        # Again: nothing to do.
        assert upgrade_database(application) == ([], [])
        current = application.test_cli_runner().invoke(args=["pucha", "db-current"]).output
        assert "pucha: pucha_" in current and "basic_info: basic_info_" in current
        # Each branch at its own newest revision (the platform's too, though a plugin's
        # revision depends on its baseline).
        plugins = application.extensions["pucha.plugins"]
        script = ScriptDirectory.from_config(alembic_config(plugins))
        for head in script.get_revisions("heads"):
            label = next(iter(head.branch_labels))
            assert f"{label}: {head.revision}" in current, current


def test_a_model_change_without_a_revision_is_named_by_upgrade_db(tmp_path):
    """A column added to a model (a field added to a schema) with no revision written."""
    from sqlalchemy import Column, Integer, String

    from app.extensions import db

    with app_in_context(base_overrides(f"sqlite:///{tmp_path / 'd.db'}", tmp_path)) as application:
        runner = application.test_cli_runner()
        assert runner.invoke(args=["pucha", "upgrade-db"]).exit_code == 0
        table = Table("tmp_unmigrated", db.metadata, Column("id", Integer, primary_key=True),
                      Column("remark", String(20)))
        try:
            result = runner.invoke(args=["pucha", "upgrade-db"])
        finally:
            db.metadata.remove(table)
        assert result.exit_code == 0, result.output
        assert "警告：模型有表 tmp_unmigrated，数据库没有" in result.output
        assert "flask pucha db-revision" in result.output
        # Once the model is gone again, so is its warning. (Other test modules' throwaway models,
        # e.g. tests/test_workflow.py's test_wf_item, share this process's metadata and may be
        # reported too: the assertion names this table only.)
        assert "tmp_unmigrated" not in runner.invoke(args=["pucha", "upgrade-db"]).output


# --- (2) a database made by the release before Alembic, with data ------------------------------
#
# Its schema is the baselines' (test (1) holds them equal to that release's models, and they stay
# frozen), with no alembic_version: what that release's ``create_all`` made. Its rows are those
# ``setup`` and the demo write, made once by today's code and copied column by column, so the
# test keeps working when later revisions change the models.

def release_schema(connection, plugin_manager):
    """The tables the release before Alembic made: the bases, without the version table."""
    from alembic import command

    from app.migrate import alembic_config, base_revisions

    for base in base_revisions(plugin_manager):
        command.upgrade(alembic_config(plugin_manager, connection), base)
    connection.execute(text("DROP TABLE alembic_version"))


@pytest.fixture(scope="module")
def release_rows(tmp_path_factory):
    """A SQLite file holding what ``setup`` with the demo writes: a small org tree, its
    accounts and roles, forms in every stage with their table rows, site codes, mails, audit
    rows, and a failed-login record."""
    from app.accounts.models import LoginThrottle, PuchaUser
    from app.accounts.provisioning import ensure_admin, ensure_org_accounts, sync_roles
    from app.extensions import db
    from app.migrate import upgrade_database
    from app.plugins import get_plugin_manager
    from tests.support.accounts import SMALL_TREE, add_orgs

    folder = tmp_path_factory.mktemp("release-rows")
    with app_in_context(base_overrides(f"sqlite:///{folder / 'rows.db'}", folder)) as application:
        upgrade_database(application)
        session = db.session
        sync_roles()
        add_orgs(session, SMALL_TREE)
        ensure_org_accounts(session)
        ensure_admin(session)
        session.commit()
        get_plugin_manager().hook.load_demo_data(session=session, echo=lambda *a, **k: None)
        user = session.scalars(select(PuchaUser).where(PuchaUser.username == "330102")).one()
        session.add(LoginThrottle(user_id=user.id, address="203.0.113.9", failures=3))
        session.commit()
    return folder / "rows.db"


def copy_rows(source_file, connection):
    """Every row of ``source_file`` into the tables of ``connection``, in the columns both have;
    PostgreSQL's id sequences are moved past the copied ids, as the release's inserts left them."""
    source = create_engine(f"sqlite:///{source_file}")
    target = MetaData()
    target.reflect(connection)
    with source.connect() as reading:
        for table in target.sorted_tables:
            rows = reading.execute(select(Table(table.name, MetaData(), autoload_with=reading))
                                   ).mappings().all()
            if rows:
                connection.execute(table.insert(), [
                    {c.name: row[c.name] for c in table.columns if c.name in row} for row in rows])
            if connection.dialect.name == "postgresql" and rows and "id" in table.columns:
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"))
    source.dispose()


def every_row(connection, columns=None):
    """Every table's rows in primary-key order (only ``columns[table]`` when given), and the
    columns read: a snapshot to compare."""
    snapshot, read = {}, {}
    metadata = MetaData()
    for name in inspect(connection).get_table_names():
        if name == "alembic_version" or (columns is not None and name not in columns):
            continue
        table = Table(name, metadata, autoload_with=connection)
        cols = [c for c in table.columns if columns is None or c.name in columns[name]]
        order = list(table.primary_key.columns) or cols
        snapshot[name] = [tuple(r) for r in connection.execute(select(*cols).order_by(*order))]
        read[name] = [c.name for c in cols]
    return snapshot, read


def test_a_release_database_with_data_is_adopted_and_upgraded_intact(empty_db_url, tmp_path,
                                                                    release_rows):
    with app_in_context(base_overrides(empty_db_url, tmp_path)) as application:
        from app.extensions import db

        with db.engine.begin() as connection:
            release_schema(connection, application.extensions["pucha.plugins"])
            copy_rows(release_rows, connection)
        with db.engine.connect() as connection:
            before, columns = every_row(connection)
        assert len(before["basic_info_form"]) >= 5 and before["basic_info_column_row"]
        assert before["audit_event"] and before["outbox_mail"] and before["login_throttle"]

        result = application.test_cli_runner().invoke(args=["pucha", "upgrade-db"])
        assert result.exit_code == 0, result.output
        assert "已接管由旧版本建立的数据库" in result.output and PLATFORM_BASELINE in result.output

        with db.engine.connect() as connection:
            assert every_row(connection, columns)[0] == before
            assert pending_differences(connection, builtin_metadata()) == []
        again = application.test_cli_runner().invoke(args=["pucha", "upgrade-db"])
        assert "数据库结构已是最新" in again.output and "接管" not in again.output

        # The way in still works: the public home page (FAB's Public role) and a unit's first
        # login with its initial password, sent on to the forced change.
        from tests.support.accounts import get_user, web_login

        client = application.test_client()
        assert client.get("/").status_code == 200
        county = get_user(db.session, "330102")
        response = web_login(client, "330102", county.initial_password)
        assert response.status_code in (302, 303)
        assert client.get("/", follow_redirects=True).request.path == "/account/password/"


def test_a_database_missing_a_column_is_refused_and_left_as_it_was(tmp_path):
    """Made by an older release that was never upgraded: adopting it would stamp a schema it
    does not have. The message names what is missing; nothing is stamped."""
    with app_in_context(base_overrides(f"sqlite:///{tmp_path / 'old.db'}", tmp_path)) as application:
        from app.extensions import db

        db.metadata.create_all(db.engine, tables=builtin_tables())
        with db.engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_basic_info_site_key"))
            connection.execute(text("ALTER TABLE basic_info_form DROP COLUMN site_key"))
        result = application.test_cli_runner().invoke(args=["pucha", "upgrade-db"])
        assert result.exit_code != 0
        assert "表 basic_info_form 缺少列 site_key" in result.output
        assert "alembic_version" not in inspect(db.engine).get_table_names()


def test_a_release_database_without_a_plugins_tables_gets_them(tmp_path, engine_of):
    """The platform's tables are there, a plugin's are not (installed with this release): the
    platform is stamped, the plugin's first revision runs."""
    from alembic import command

    from app.migrate import alembic_config

    engine = engine_of(f"sqlite:///{tmp_path / 'p.db'}")
    pm = default_plugin_manager()
    with engine.begin() as connection:
        command.upgrade(alembic_config(pm, connection), PLATFORM_BASELINE)
        connection.execute(text("DROP TABLE alembic_version"))
    with engine.begin() as connection:
        adopted, applied = upgrade_connection(connection, pm)
    assert adopted == [PLATFORM_BASELINE]
    assert applied[0][0] == "basic_info_0001"
    assert PLATFORM_BASELINE not in {revision for revision, _ in applied}
    assert "basic_info_form" in inspect(engine).get_table_names()


# --- (3) a plugin ships its own revisions; (4) server defaults -------------------------------

NOTE_TABLE = '''
    revision = "tmp_notes_0001"
    down_revision = None
    branch_labels = ("tmp_notes",)
    depends_on = "pucha_0001"


    def upgrade():
        op.create_table(
            "tmp_note",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("org_id", sa.Integer, sa.ForeignKey("org.id"), nullable=True),
            sa.Column("body", sa.Text, nullable=False),
            sa.Column("kind", sa.String(16), nullable=False, server_default="not set"),
        )
'''
# The old upgrader's bug: ``DEFAULT not set`` (a syntax error) and ``DEFAULT it's`` (worse).
NEW_COLUMNS = '''
    revision = "tmp_notes_0002"
    down_revision = "tmp_notes_0001"
    branch_labels = None
    depends_on = None


    def upgrade():
        with op.batch_alter_table("tmp_note") as batch:
            batch.add_column(sa.Column("state", sa.String(16), nullable=False,
                                       server_default="not set"))
            batch.add_column(sa.Column("remark", sa.String(32), nullable=False,
                                       server_default="it's new"))
'''


def _revision_file(folder, name, body):
    header = 'from alembic import op\nimport sqlalchemy as sa\n'
    (folder / f"{name}.py").write_text(header + textwrap.dedent(body), encoding="utf-8")


class NotesPlugin:
    """A plugin made in the test: nothing but its revision folder."""

    def __init__(self, folder):
        self.folder = folder

    @hookimpl
    def register_migrations(self, register):
        register("tmp_notes", self.folder)


def test_a_plugins_own_revisions_add_its_table_and_defaults_land_quoted(
        empty_db_url, tmp_path, engine_of):
    folder = tmp_path / "tmp_notes_migrations"
    folder.mkdir()
    _revision_file(folder, "tmp_notes_0001_note", NOTE_TABLE)
    pm = default_plugin_manager()
    pm.register(NotesPlugin(folder), name="tmp_notes")
    engine = engine_of(empty_db_url)

    with engine.begin() as connection:
        _, applied = upgrade_connection(connection, pm)
    assert "tmp_notes_0001" in {revision for revision, _ in applied}
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO tmp_note (body) VALUES ('死链已修复')"))
        assert connection.execute(text("SELECT kind FROM tmp_note")).scalar() == "not set"

    # A later revision adds required columns with defaults to a table that holds rows.
    _revision_file(folder, "tmp_notes_0002_state", NEW_COLUMNS)
    with engine.begin() as connection:
        _, applied = upgrade_connection(connection, pm)
        assert [revision for revision, _ in applied] == ["tmp_notes_0002"]
        row = connection.execute(text("SELECT body, kind, state, remark FROM tmp_note")).one()
        assert tuple(row) == ("死链已修复", "not set", "not set", "it's new")
        assert "tmp_notes_0002" in current_revisions(connection)


def test_a_plugin_folder_that_does_not_exist_is_refused(tmp_path, engine_of):
    pm = default_plugin_manager()
    pm.register(NotesPlugin(tmp_path / "missing"), name="tmp_notes")
    engine = engine_of(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection, pytest.raises(MigrationError) as error:
        upgrade_connection(connection, pm)
    assert "迁移目录" in str(error.value) and "missing" in str(error.value)


def test_a_database_at_a_revision_no_installed_plugin_has_is_refused_with_its_name(
        tmp_path, engine_of):
    folder = tmp_path / "tmp_notes_migrations"
    folder.mkdir()
    _revision_file(folder, "tmp_notes_0001_note", NOTE_TABLE)
    with_notes = default_plugin_manager()
    with_notes.register(NotesPlugin(folder), name="tmp_notes")
    engine = engine_of(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        upgrade_connection(connection, with_notes)
    with engine.begin() as connection, pytest.raises(MigrationError) as error:
        upgrade_connection(connection, default_plugin_manager())
    assert "数据库迁移失败" in str(error.value) and "tmp_notes_0001" in str(error.value)


def test_db_revision_writes_the_next_revision_of_a_branch_into_its_own_folder(tmp_path):
    from app.extensions import db
    from app.factory import create_app
    from app.plugins import set_plugin_manager

    folder = tmp_path / "tmp_notes_migrations"
    folder.mkdir()
    _revision_file(folder, "tmp_notes_0001_note", NOTE_TABLE)
    pm = default_plugin_manager()
    pm.register(NotesPlugin(folder), name="tmp_notes")
    application = create_app(base_overrides(f"sqlite:///{tmp_path / 'r.db'}", tmp_path),
                             plugin_manager=pm)
    try:
        with application.app_context():
            result = application.test_cli_runner().invoke(
                args=["pucha", "db-revision", "tmp_notes", "-m", "Add a remark"])
            assert result.exit_code == 0, result.output
            written, = folder.glob("tmp_notes_0002_*.py")
            assert str(written) in result.output
            source = written.read_text(encoding="utf-8")
            assert "down_revision = 'tmp_notes_0001'" in source
            # The plugin defines no model: nothing of the platform's or basic_info's tables.
            assert "op." not in source.split("def upgrade")[1].split("def downgrade")[0]
            unknown = application.test_cli_runner().invoke(
                args=["pucha", "db-revision", "no_such_branch", "-m", "x"])
            assert unknown.exit_code != 0 and "没有名为 no_such_branch 的迁移分支" in unknown.output
            db.session.remove()
            db.engine.dispose()
    finally:
        set_plugin_manager(None)
