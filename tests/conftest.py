"""Shared fixtures: a national database built once per session and copied per test."""
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

_VAR = Path(tempfile.mkdtemp(prefix="pucha-test-var-"))
os.environ.setdefault("PUCHA_VAR_DIR", str(_VAR))
os.environ.setdefault("PUCHA_SECRET_KEY", "test-secret-key-not-for-production")

import pytest  # noqa: E402
from flask import Flask, g, request_started  # noqa: E402

from tests.support.csrf import CsrfClient  # noqa: E402

# Every app a test builds gets the client that sends the CSRF token like a browser.
Flask.test_client_class = CsrfClient


def _fresh_request_globals(sender, **extra):
    """Start every test request with an empty ``g``, as a real server does.

    The fixtures keep an app context open for the whole test (so tests can use the session), and
    Flask then reuses that context's ``g`` for every request: Flask-Login would hand a second test
    client the user the first one logged in, and Flask-JWT-Extended the previous request's token
    user. ``request_started`` fires before any ``before_request`` function.
    """
    for name in list(vars(g)):
        g.pop(name, None)


request_started.connect(_fresh_request_globals)


def base_overrides(db_url, tmp_path):
    return {
        "SQLALCHEMY_DATABASE_URI": db_url,
        "TESTING": True,
        # As in production: every state change needs the CSRF token (tests/support/csrf.py's
        # client sends it like a browser that rendered the form).
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_ENABLED": False,
        "AUTH_RATE_LIMITED": False,
        "FILE_STORAGE_DIR": Path(tmp_path) / "files",
        "MAIL_SUPPRESS_SEND": False,
        "SERVER_NAME": None,
    }


@contextlib.contextmanager
def app_in_context(overrides):
    """An app built with ``overrides``, inside its app context.

    On the way out its session is removed and its engine disposed: a database file or a
    PostgreSQL database with a connection still open can be neither deleted nor used as a
    template.
    """
    from app.extensions import db
    from app.factory import create_app

    application = create_app(overrides)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def sqlite_copy(db_file, folder, name="pucha.db"):
    """The URL of a private copy of the SQLite database ``db_file``, made in ``folder``."""
    path = Path(folder) / name
    shutil.copy(db_file, path)
    return f"sqlite:///{path}"


def build_database(db_url, workdir, load_orgs=None, accounts=True):
    """Create the schema and load an org tree (the real national one unless ``load_orgs``, a
    function of the session, loads another); with ``accounts`` also the roles, every org's
    account and the administrator.

    Built by the platform's own migrations and loaders, the code production runs, on SQLite as
    on PostgreSQL.
    """
    with app_in_context(base_overrides(db_url, workdir)) as application:
        from app.accounts.provisioning import (ensure_admin, ensure_builtin_roles,
                                               ensure_org_accounts, sync_roles)
        from app.extensions import db
        from app.migrate import upgrade_database
        from app.orgs.importer import load_default_tree

        upgrade_database(application)
        ensure_builtin_roles()
        if accounts:
            sync_roles()
        (load_orgs or load_default_tree)(db.session)
        if accounts:
            ensure_org_accounts(db.session)
            ensure_admin(db.session)
        db.session.commit()


# PUCHA_TEST_DB=postgres runs every test that uses `app` on a real PostgreSQL server (a copy of
# a national database built there once per session, see tests/support/postgres.py).
TEST_DB = os.environ.get("PUCHA_TEST_DB", "sqlite").strip().lower()


@pytest.fixture(scope="session")
def national_db_file(tmp_path_factory):
    """The national SQLite database file (also the base of the browser tests' live server)."""
    path = tmp_path_factory.mktemp("national") / "national.db"
    build_database(f"sqlite:///{path}", path.parent)
    return path


@pytest.fixture
def app(request, tmp_path):
    """A fresh app on a private copy of the national database."""
    if TEST_DB == "postgres":
        db_url = request.getfixturevalue("pg_national_db")
    else:
        db_url = sqlite_copy(request.getfixturevalue("national_db_file"), tmp_path)
    with app_in_context(base_overrides(db_url, tmp_path)) as application:
        yield application


@pytest.fixture
def session(app):
    from app.extensions import db

    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


# --- a small org tree of its own, for the account tests (see tests/support/accounts.py) -------
@pytest.fixture(scope="session")
def small_db_file(tmp_path_factory):
    from tests.support.accounts import SMALL_TREE, add_orgs

    path = tmp_path_factory.mktemp("accounts") / "small.db"
    build_database(f"sqlite:///{path}", path.parent,
                   load_orgs=lambda session: add_orgs(session, SMALL_TREE))
    return path


@pytest.fixture
def small_app(small_db_file, tmp_path):
    with app_in_context(base_overrides(sqlite_copy(small_db_file, tmp_path), tmp_path)) as application:
        yield application


@pytest.fixture
def db_session(small_app):
    from app.extensions import db

    return db.session


@pytest.fixture
def web(small_app):
    return small_app.test_client()
