"""A real, throwaway Redis server for the test session: the rate limits' shared store.

Production counts rate limits in Redis (``RATELIMIT_STORAGE_URI=redis://…``, docs/config.md) so
that every app process sees the same counts; the tests run the limits against the real server
from Debian's ``redis-server`` package, not a lookalike. One server per test session (per xdist
worker), on a free port of 127.0.0.1, its files in a temp dir, nothing saved to disk.

Fixtures:
  ``redis_server``  the running server (session); ``redis_server.url(db)`` is a redis:// URL
  ``redis_url``     URL of a database emptied for this test

REDIS_SERVER points at the redis-server binary when it is not /usr/bin/redis-server or on PATH.
Loaded as a pytest plugin from pytest.ini.
"""
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.components import require
from tests.support.smtp import free_port

_HOW_TO_GET = "Install it with `apt-get install -y redis-server` (.ci/run does)."


def find_redis_server():
    for candidate in (os.environ.get("REDIS_SERVER"), "/usr/bin/redis-server",
                      shutil.which("redis-server")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class RedisServer:
    def __init__(self, binary):
        self.binary = binary
        self.base = Path(tempfile.mkdtemp(prefix="pucha-redis-"))
        self.port = None
        self.process = None

    def start(self, timeout=20):
        self.port = free_port()
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.base),
             "--save", "", "--appendonly", "no", "--protected-mode", "yes",
             "--logfile", str(self.base / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=self.base)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.client().ping():
                    return self
            except Exception:  # not listening yet
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.base / "redis.log").read_text(errors="replace") \
                    if (self.base / "redis.log").exists() else ""
                self.stop()
                raise RuntimeError(f"redis-server did not start:\n{log[-4000:]}")
            time.sleep(0.05)

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db=0):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=5)

    def stop(self):
        try:
            if self.process is not None and self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def _has_redis_client():
    try:
        import redis  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="session")
def redis_server():
    binary = find_redis_server()
    require("redis-server", binary is not None, _HOW_TO_GET)
    require("the redis client package", _has_redis_client(), "pip install -r requirements.txt")
    server = RedisServer(binary).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server):
    """A redis:// URL of database 0, emptied before the test."""
    redis_server.client().flushdb()
    return redis_server.url()
