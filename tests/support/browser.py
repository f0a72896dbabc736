"""A real browser against the real app: ``live_server`` and ``browser_page``.

``live_server`` serves a fresh app (on a private copy of the national SQLite database from
tests/conftest.py) with werkzeug's threaded server on 127.0.0.1 and a free port, as a person's
browser would reach it. CSRF protection stays ON there: the browser submits real forms.

``browser_page`` is a Playwright page in Debian's Chromium (/usr/bin/chromium; Playwright's own
browser download cannot work on these machines), started with a new empty profile and with the
flags that keep Chromium from calling out to a network that is closed here.
Loaded as a pytest plugin from pytest.ini.
"""
import contextlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass

import pytest

from tests.support.components import require

CHROMIUM = os.environ.get("PUCHA_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying Google's hosts, which this
# machine's closed network refuses many at a time; QUIC likewise.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # the tests run as root in CI, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 900}


@dataclass
class LiveServer:
    app: object
    url: str
    db_url: str
    _server: object = None
    _thread: object = None

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


def start_live_server(app, host="127.0.0.1", port=0):
    """Serve ``app`` in a daemon thread; port 0 lets the OS pick a free one."""
    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    return server, thread, f"http://{host}:{server.server_port}"


@contextlib.contextmanager
def serve_national_copy(national_db_file, tmp_path, config=None, prepare=None):
    """A ``LiveServer`` on a private copy of the national database, CSRF protection on.

    ``config`` adds settings; ``prepare(app)`` runs inside the app context before the server
    starts (to load data, say). Afterwards the server stops and the app's connections close.
    """
    from app.extensions import db
    from app.factory import create_app
    from tests.conftest import base_overrides, sqlite_copy

    db_url = sqlite_copy(national_db_file, tmp_path, "live.db")
    overrides = base_overrides(db_url, tmp_path)
    overrides.update({"TESTING": False, "WTF_CSRF_ENABLED": True, **(config or {})})
    application = create_app(overrides)
    if prepare is not None:
        with application.app_context():
            prepare(application)
            db.session.remove()
    server, thread, url = start_live_server(application)
    live = LiveServer(app=application, url=url, db_url=db_url, _server=server, _thread=thread)
    try:
        yield live
    finally:
        live.stop()
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def live_server(national_db_file, tmp_path):
    with serve_national_copy(national_db_file, tmp_path) as live:
        yield live


def chromium_available():
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def launch_chromium(playwright, user_data_dir, locale="zh-CN"):
    """A persistent context = Chromium started on ``user_data_dir`` (a new empty folder)."""
    return playwright.chromium.launch_persistent_context(
        user_data_dir,
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_FLAGS,
        locale=locale,
        viewport=VIEWPORT,
    )


@pytest.fixture
def browser_page():
    require("Chromium", chromium_available(),
            "Install it with `apt-get install -y chromium fonts-noto-cjk` (.ci/run does).")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - dev requirements carry it
        require("Playwright", False, "pip install -r requirements-dev.txt")
    profile = tempfile.mkdtemp(prefix="pucha-chromium-")
    try:
        with sync_playwright() as playwright:
            context = launch_chromium(playwright, profile)
            context.set_default_timeout(30_000)
            try:
                page = context.pages[0] if context.pages else context.new_page()
                yield page
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# --- what a person does on the login and forced password change pages ------------------------
def log_in(page, base_url, username, password):
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.locator("form:not(.pucha-logout) [type=submit]").first.click()


def submit_password_change(page, old, new):
    """Fill in the change-password form on the current page (new password twice) and send it."""
    page.fill("input[name=old_password]", old)
    page.fill("input[name=password]", new)
    page.fill("input[name=conf_password]", new)
    with page.expect_navigation():
        page.locator("form:not(.pucha-logout) [type=submit]").first.click()
