"""A real, throwaway PostgreSQL server for the test session.

The production target is PostgreSQL (SPEC §9), so the platform is tested against the real server
from Debian's packages, not a lookalike. One server per test session (per xdist worker): its data
directory and unix socket live in a temp dir, it listens on no TCP port (``listen_addresses=''``)
so parallel sessions cannot collide, and durability is switched off because the data is thrown
away.

Fixtures:
  ``pg_server``    the running server (session); ``pg_server.create_database(name, template=…)``
  ``pg_url``       ``postgresql+psycopg://…?host=<socketdir>`` URL of an empty database (session)
  ``pg_database``  factory: ``pg_database(template=None)`` makes a fresh database per call and
                   returns its URL; the databases are dropped when the test ends.
  ``pg_national_db``  URL of a private copy of the national database (tree, accounts, roles)
  ``pg_app``       the app on ``pg_national_db``, inside its app context

PUCHA_PG_BINDIR points at the folder holding initdb/pg_ctl when they are not found on their own.
Loaded as a pytest plugin from pytest.ini.
"""
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.components import require

_HOW_TO_GET = "Install it with `apt-get install -y postgresql` (.ci/run does)."

# The default collation of the test databases. A Chinese production server is typically set up
# with zh_CN.UTF-8, whose glibc collation ignores punctuation at the first level: there
# '/330000/330100/' sorts AFTER '/3300000', so a materialised-path range scan that relied on the
# database's collation would silently lose rows. ICU's "shifted" variant behaves the same way and
# needs no generated OS locale, so the tests run under it; the org path column must (and does)
# carry collation "C" to stay exact.
HOSTILE_ICU_LOCALE = "zh-u-ka-shifted"


def find_pg_bindir():
    """The folder with initdb, pg_ctl and postgres, or None.

    Debian keeps the server binaries out of PATH in /usr/lib/postgresql/<major>/bin; a machine may
    also have symlinks (or a different build) on PATH. The three must come from one build, so
    symlinks are resolved to the folder they point into.
    """
    candidates = []
    if os.environ.get("PUCHA_PG_BINDIR"):
        candidates.append(os.environ["PUCHA_PG_BINDIR"])
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    # Newest major version first.
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in candidates:
        if all(os.access(os.path.join(folder, exe), os.X_OK) for exe in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _server_user():
    """initdb and postgres refuse to run as root: as root, run them as the `postgres` user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    return None


class PostgresServer:
    """One initdb'd cluster in a temp dir, started with pg_ctl."""

    superuser = "postgres"

    def __init__(self, bindir):
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="pucha-pg-"))
        self.datadir = self.base / "data"
        self.sockdir = self.base / "sock"
        self.logfile = self.base / "server.log"
        self.run_as = _server_user()
        self._names = itertools.count(1)
        self.start_seconds = None

    # --- process control -----------------------------------------------------------------
    def _cmd(self, exe, *args):
        command = [os.path.join(self.bindir, exe), *map(str, args)]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as.pw_name, "--", *command]
        return command

    def _run(self, exe, *args, timeout=120):
        result = subprocess.run(
            self._cmd(exe, *args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base,  # runuser keeps the cwd; it must be readable by the server user
        )
        if result.returncode != 0:
            log = self.logfile.read_text(errors="replace") if self.logfile.exists() else ""
            raise RuntimeError(
                f"{exe} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{log[-4000:]}"
            )
        return result

    def start(self):
        began = time.monotonic()
        self.sockdir.mkdir()
        if self.run_as is not None:
            for path in (self.base, self.sockdir):
                os.chown(path, self.run_as.pw_uid, self.run_as.pw_gid)
        # UTF-8 for Chinese names; the C locale keeps initdb independent of the machine's locales
        # (the org path column carries its own collation "C" anyway).
        self._run("initdb", "-D", self.datadir, "-U", self.superuser, "-E", "UTF8",
                  "--locale=C", "--auth=trust", "--no-sync")
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# throwaway test server\n"
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{self.sockdir}'\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
                "max_connections = 200\n"
                "log_min_messages = warning\n"
            )
        self._run("pg_ctl", "-D", self.datadir, "-l", self.logfile, "-w", "-t", "60", "start")
        self.start_seconds = time.monotonic() - began
        return self

    def stop(self):
        try:
            if (self.datadir / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    # --- databases -----------------------------------------------------------------------
    def url(self, dbname):
        return f"postgresql+psycopg://{self.superuser}@/{dbname}?host={self.sockdir}"

    def connect(self, dbname="postgres"):
        import psycopg

        return psycopg.connect(host=str(self.sockdir), dbname=dbname, user=self.superuser,
                               autocommit=True)

    def unique_name(self, prefix="pucha"):
        return f"{prefix}_{os.getpid()}_{next(self._names)}"

    def create_database(self, name=None, template=None, icu_locale=None):
        """Create a database and return its URL.

        ``template``: a file-level copy of that database. ``icu_locale``: the database's default
        collation (needs a server built with ICU, as Debian's is); without it, "C".
        """
        from psycopg import sql

        name = name or self.unique_name()
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if icu_locale:
            statement += sql.SQL(" LOCALE_PROVIDER icu ICU_LOCALE {} TEMPLATE template0").format(
                sql.Literal(icu_locale))
        elif template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with self.connect() as conn:
            conn.execute(statement)
        return self.url(name)

    @staticmethod
    def dbname(url):
        return url.split("@/", 1)[1].split("?", 1)[0]

    def drop_database(self, name):
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_server():
    bindir = find_pg_bindir()
    require("PostgreSQL", bindir is not None, _HOW_TO_GET)
    require("psycopg", _has_psycopg(), "pip install -r requirements.txt")
    server = PostgresServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server):
    """URL of an empty database on the session's server, default collation HOSTILE_ICU_LOCALE."""
    return pg_server.create_database("pucha_test", icu_locale=HOSTILE_ICU_LOCALE)


@pytest.fixture
def pg_database(pg_server):
    """Factory for fresh databases: ``pg_database(template=None, icu_locale=None) -> url``;
    they are dropped after the test.

    With a template the copy is made by the server at file level (CREATE DATABASE … TEMPLATE),
    far faster than loading the data again.
    """
    made = []

    def make(template=None, icu_locale=None):
        name = pg_server.unique_name("pucha_t")
        url = pg_server.create_database(name, template=template, icu_locale=icu_locale)
        made.append(name)
        return url

    yield make
    for name in made:
        pg_server.drop_database(name)


@pytest.fixture(scope="session")
def pg_national_template(pg_server, tmp_path_factory):
    """Name of a database holding the national tree and accounts, built once per session.

    Built as tests/conftest.py builds the SQLite one, through the platform's own loaders, so the
    PostgreSQL copy comes from the code production runs, not copied row by row. Its connections
    are closed afterwards: a template database must have none open.
    """
    from tests.conftest import build_database

    url = pg_server.create_database("pucha_national", icu_locale=HOSTILE_ICU_LOCALE)
    started = time.monotonic()
    build_database(url, tmp_path_factory.mktemp("pg-national"))
    pg_server.national_build_seconds = time.monotonic() - started
    return pg_server.dbname(url)


@pytest.fixture
def pg_national_db(pg_national_template, pg_database):
    """URL of a private copy of the national database for one test."""
    return pg_database(template=pg_national_template)


@pytest.fixture
def pg_app(pg_national_db, tmp_path):
    """The app on a private copy of the national database on PostgreSQL, inside its context."""
    from tests.conftest import app_in_context, base_overrides

    with app_in_context(base_overrides(pg_national_db, tmp_path)) as application:
        yield application


def _has_psycopg():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True
