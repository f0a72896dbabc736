"""Shared fixtures: a national database built once per session and copied per test."""
import os
import shutil
import tempfile
from pathlib import Path

_VAR = Path(tempfile.mkdtemp(prefix="pucha-test-var-"))
os.environ.setdefault("PUCHA_VAR_DIR", str(_VAR))
os.environ.setdefault("PUCHA_SECRET_KEY", "test-secret-key-not-for-production")

import pytest  # noqa: E402
from flask import g, request_started  # noqa: E402


def _fresh_request_globals(sender, **extra):
    """Give every test request a fresh login, as a real server does.

    The fixtures keep an app context open for the whole test (so tests can use the session), and
    Flask then reuses that context's ``g`` for every request — Flask-Login would hand a second
    test client the user the first one logged in. ``request_started`` fires before any
    ``before_request`` function, so the user is loaded anew from the request's own session.
    """
    for name in ("_login_user", "user"):
        g.pop(name, None)


request_started.connect(_fresh_request_globals)


def base_overrides(db_url, tmp_path):
    return {
        "SQLALCHEMY_DATABASE_URI": db_url,
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "AUTH_RATE_LIMITED": False,
        "FILE_STORAGE_DIR": Path(tmp_path) / "files",
        "MAIL_SUPPRESS_SEND": False,
        "SERVER_NAME": None,
    }


def build_national_db(db_path):
    """Create a SQLite database with the real national tree, its accounts and the roles."""
    from app.factory import create_app

    app = create_app(base_overrides(f"sqlite:///{db_path}", db_path.parent))
    with app.app_context():
        from app.accounts.provisioning import ensure_admin, ensure_org_accounts, sync_roles
        from app.extensions import db
        from app.orgs.importer import load_default_tree

        db.create_all()
        sync_roles()
        load_default_tree(db.session)
        ensure_org_accounts(db.session)
        ensure_admin(db.session)
        db.session.commit()
        db.engine.dispose()


# PUCHA_TEST_DB=postgres runs every test that uses `app` on a real PostgreSQL server (a copy of
# a national database built there once per session, see tests/support/postgres.py).
TEST_DB = os.environ.get("PUCHA_TEST_DB", "sqlite").strip().lower()


@pytest.fixture(scope="session")
def national_db_file(tmp_path_factory):
    """The national SQLite database file (also the base of the browser tests' live server)."""
    path = tmp_path_factory.mktemp("national") / "national.db"
    build_national_db(path)
    return path


@pytest.fixture
def app(request, tmp_path):
    """A fresh app on a private copy of the national database."""
    from app.factory import create_app

    if TEST_DB == "postgres":
        db_url = request.getfixturevalue("pg_national_db")
    else:
        db_path = tmp_path / "pucha.db"
        shutil.copy(request.getfixturevalue("national_db_file"), db_path)
        db_url = f"sqlite:///{db_path}"
    application = create_app(base_overrides(db_url, tmp_path))
    with application.app_context():
        yield application
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app):
    from app.extensions import db

    return db.session


@pytest.fixture
def client(app):
    return app.test_client()
