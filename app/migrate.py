"""The database's schema, kept by Alembic: the platform's revisions and each plugin's own.

The platform's revisions live in ``app/migrations/versions`` (branch ``pucha``); a plugin ships
its own folder through the ``register_migrations`` hook, with a first revision carrying the
plugin's branch label and ``depends_on`` the platform's baseline, so an external plugin adds its
tables without touching ``app/``. ``flask pucha upgrade-db`` and ``setup`` upgrade to every
branch's head. There is no alembic.ini: the configuration is built here, from the app.

A database made before Alembic (the tables are there, ``alembic_version`` is not) is adopted:
each branch's first revision whose tables are all there, with all their columns, is stamped as
applied, then the upgrade runs as usual (docs/migrations.md).
"""
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask_appbuilder import Model
from sqlalchemy import create_engine, inspect

from app.extensions import db

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
PLATFORM_LABEL = "pucha"
PLATFORM_BASELINE = "pucha_0001"
VERSION_TABLE = "alembic_version"


class MigrationError(RuntimeError):
    """The database cannot be brought to the current schema without an operator's decision."""


@dataclass(frozen=True)
class MigrationFolder:
    """One branch of revisions: its label and the folder its revision files are in."""

    label: str
    path: Path


def migration_folders(plugin_manager):
    """The platform's folder and every plugin's, validated (a bad registration stops here)."""
    folders = {PLATFORM_LABEL: MigrationFolder(PLATFORM_LABEL, MIGRATIONS_DIR / "versions")}

    def register(label, path):
        path = Path(path).resolve()
        if not label or not str(label).isidentifier():
            raise MigrationError(f"register_migrations：分支名 {label!r} 不是合法的标识符")
        if label in folders:
            raise MigrationError(f"register_migrations：分支名 {label} 重复注册")
        if not path.is_dir():
            raise MigrationError(f"register_migrations：迁移目录 {path} 不存在")
        folders[label] = MigrationFolder(label, path)

    plugin_manager.hook.register_migrations(register=register)
    return list(folders.values())


def alembic_config(plugin_manager, connection=None):
    """Alembic's configuration for these plugins; ``connection`` is where the revisions run."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(
        str(folder.path) for folder in migration_folders(plugin_manager)))
    config.attributes["connection"] = connection
    return config


def _plugin_manager(app):
    return app.extensions["pucha.plugins"]


def current_revisions(connection):
    """The revisions the database is at (empty for a fresh or a pre-Alembic database)."""
    return set(MigrationContext.configure(connection).get_current_heads())


def current_by_branch(connection, plugin_manager):
    """{branch label: the revision it is at}; a plugin's revision implies the platform's it
    depends on, which Alembic does not store beside it."""
    script = ScriptDirectory.from_config(alembic_config(plugin_manager))
    heads = sorted(current_revisions(connection))
    # A stored head is its branch's newest applied revision; only a branch with no stored head
    # (the platform's, when a plugin's revision implies it) is found by walking down.
    at = {label: head for head in heads for label in script.get_revision(head).branch_labels}
    for head in heads:
        # Newest first, along down revisions and dependencies.
        for revision in script.revision_map.iterate_revisions(head, "base"):
            for label in revision.branch_labels:
                at.setdefault(label, revision.revision)
    return at


# --- adopting a database made before Alembic -------------------------------------------------

def _schema(connection):
    """{table: set of column names} of what ``connection``'s database holds."""
    inspector = inspect(connection)
    return {name: {c["name"] for c in inspector.get_columns(name)}
            for name in inspector.get_table_names() if name != VERSION_TABLE}


def base_revisions(plugin_manager):
    """Every branch's first revision, the platform's baseline first (the others depend on it)."""
    script = ScriptDirectory.from_config(alembic_config(plugin_manager))
    return sorted(script.get_bases(), key=lambda rev: rev != PLATFORM_BASELINE)


def _base_schemas(plugin_manager):
    """{base revision: {table: columns}}: what each branch's first revision creates, found by
    running the bases on a scratch in-memory SQLite database (so it cannot drift from them)."""
    scratch = create_engine("sqlite://")
    made, before = {}, {}
    with scratch.begin() as connection:
        for base in base_revisions(plugin_manager):
            command.upgrade(alembic_config(plugin_manager, connection), base)
            after = _schema(connection)
            made[base] = {t: cols for t, cols in after.items() if t not in before}
            before = after
    scratch.dispose()
    return made


def adopt(connection, plugin_manager):
    """Stamp the bases whose tables a pre-Alembic database already holds; return them.

    A base with some of its tables or columns missing is refused with the list of what is
    missing: that database was made by an older release and needs that release's upgrade first.
    """
    present = _schema(connection)
    stamped, problems = [], []
    for base, tables in _base_schemas(plugin_manager).items():
        found = [t for t in tables if t in present]
        if not found:
            continue  # this branch's tables are new here: the upgrade creates them
        missing = [f"缺少表 {t}" for t in tables if t not in present]
        missing += [f"表 {t} 缺少列 {c}" for t in found for c in sorted(tables[t] - present[t])]
        if missing:
            problems += missing
        else:
            stamped.append(base)
    if problems:
        raise MigrationError(
            "数据库由更早的版本建立，结构与基线迁移不符，无法自动接管：" + "；".join(problems)
            + "。请先用建立它的那个版本运行 flask pucha upgrade-db 补齐，再升级到本版本。")
    if stamped and PLATFORM_BASELINE not in stamped:
        raise MigrationError(f"数据库中有插件的表，却没有平台的表（{VERSION_TABLE} 也不存在），无法接管")
    for base in stamped:
        # One at a time, the platform's first: stamped together, a plugin's base would
        # "overlap" the platform's baseline it depends on.
        command.stamp(alembic_config(plugin_manager, connection), base)
    return stamped


# --- upgrading ----------------------------------------------------------------------------------

def upgrade_connection(connection, plugin_manager):
    """Bring the database behind ``connection`` to every branch's head.

    Returns ``(adopted, applied)``: the bases stamped on a pre-Alembic database, and
    ``(revision, description)`` of every revision that ran, in order.
    """
    adopted = []
    if not current_revisions(connection) and _schema(connection):
        adopted = adopt(connection, plugin_manager)
    config = alembic_config(plugin_manager, connection)
    try:
        command.upgrade(config, "heads")
    except CommandError as error:
        # E.g. the database is at a revision of a plugin that is no longer installed.
        raise MigrationError(f"数据库迁移失败：{error}") from error
    return adopted, config.attributes.get("applied", [])


def upgrade_database(app):
    """Upgrade the app's database to every head, in one transaction; see upgrade_connection."""
    with app.app_context():
        # One transaction: on PostgreSQL a failing revision leaves the schema as it was.
        with db.engine.begin() as connection:
            return upgrade_connection(connection, _plugin_manager(app))


def _declared_tables_only(obj, name, type_, reflected, compare_to):
    # A table only the database has (an uninstalled plugin's, a DBA's) is not drift.
    return not (type_ == "table" and reflected and compare_to is None)


def pending_differences(connection, metadata):
    """What the models declare that the database lacks or has otherwise (autogenerate's view),
    tables only the database has left out."""
    context = MigrationContext.configure(connection, opts={
        "include_object": _declared_tables_only, "compare_type": True})
    return compare_metadata(context, metadata)


def describe_difference(diff):
    """One line, in Chinese, for an entry of ``pending_differences``."""
    if isinstance(diff, list):  # changes to one column come as a list
        diff = diff[0]
    kind = diff[0]
    if kind == "add_table":
        return f"模型有表 {diff[1].name}，数据库没有"
    if kind == "add_column":
        return f"模型有列 {diff[2]}.{diff[3].name}，数据库没有"
    if kind == "remove_column":
        return f"数据库有列 {diff[2]}.{diff[3].name}，模型没有"
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        where = "模型有、数据库没有" if kind == "add_index" else "数据库有、模型没有"
        return f"表 {index.table.name} 的索引 {index.name}：{where}"
    if kind.startswith("modify_"):
        return f"表 {diff[2]} 的列 {diff[3]} 与模型不同（{kind[len('modify_'):]}）"
    return f"{kind}：{diff[1:]}"


# --- for developers ------------------------------------------------------------------------------

def tables_of(folder, metadata):
    """The tables whose models are defined in the package the migrations ``folder`` belongs to
    (its parent folder): a plugin's own tables."""
    owners = {}
    for mapper in Model.registry.mappers:
        module = sys.modules.get(mapper.class_.__module__)
        source = Path(getattr(module, "__file__", None) or "/").resolve()
        for table in mapper.tables:
            owners.setdefault(table.name, source)
    package = folder.path.parent
    return {name for name in metadata.tables
            if name in owners and package in owners[name].parents}


def new_revision(app, label, message):
    """Autogenerate a revision of branch ``label`` from the difference between the models and
    the database (upgraded first); only that branch's tables are compared. Returns its file."""
    pm = _plugin_manager(app)
    folders = {folder.label: folder for folder in migration_folders(pm)}
    if label not in folders:
        raise MigrationError(f"没有名为 {label} 的迁移分支；已有：{'、'.join(folders)}")
    folder = folders[label]
    if label == PLATFORM_LABEL:
        # The platform's tables: every table no plugin owns (FAB's among them).
        owned = [tables_of(f, db.metadata) for f in folders.values() if f.label != label]
        only = set(db.metadata.tables) - set().union(*owned)
    else:
        only = tables_of(folder, db.metadata)
    with app.app_context(), db.engine.begin() as connection:
        upgrade_connection(connection, pm)
        config = alembic_config(pm, connection)
        config.attributes["only_tables"] = only
        script = ScriptDirectory.from_config(config)
        in_branch = [rev for rev in script.walk_revisions()
                     if label in rev.branch_labels]
        # Readable ids, numbered per branch: pucha_0001, basic_info_0002 …
        rev_id = f"{label}_{len(in_branch) + 1:04d}"
        if in_branch:
            revision = command.revision(config, message=message, autogenerate=True,
                                        head=f"{label}@head", rev_id=rev_id)
        else:
            revision = command.revision(
                config, message=message, autogenerate=True, head="base", rev_id=rev_id,
                branch_label=label, version_path=str(folder.path),
                depends_on=None if label == PLATFORM_LABEL else PLATFORM_BASELINE)
    return Path(revision.path)

