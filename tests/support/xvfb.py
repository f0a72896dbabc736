"""A virtual X display (Xvfb) for tests of windows: the filler's GUI, screenshots of them.

``xvfb_server`` starts one Xvfb per test session on a display number it picks itself
(``-displayfd``: Xvfb chooses a free number and reports it, so parallel sessions and a developer's
own X server cannot collide). ``xvfb_display`` sets DISPLAY to it for one test and returns it.
Loaded as a pytest plugin from pytest.ini.
"""
import os
import select
import shutil
import subprocess
import time

import pytest

from tests.support.components import require

SCREEN = "1280x900x24"


class XvfbServer:
    def __init__(self, executable, screen=SCREEN):
        self.executable = executable
        self.screen = screen
        self.process = None
        self.display = None

    def start(self, timeout=20):
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                [self.executable, "-displayfd", str(write_fd), "-screen", "0", self.screen,
                 "-nolisten", "tcp", "-noreset"],
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            os.close(write_fd)
            write_fd = None
            number = b""
            deadline = time.monotonic() + timeout
            while not number.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                ready, _, _ = select.select([read_fd], [], [], max(remaining, 0))
                if not ready:
                    self.stop()
                    raise RuntimeError("Xvfb did not report its display number in time")
                chunk = os.read(read_fd, 16)
                if not chunk:  # Xvfb exited before it was ready
                    err = self.process.stderr.read().decode(errors="replace")
                    self.stop()
                    raise RuntimeError(f"Xvfb failed to start:\n{err[-2000:]}")
                number += chunk
        finally:
            os.close(read_fd)
            if write_fd is not None:
                os.close(write_fd)
        self.display = f":{int(number)}"
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None


@pytest.fixture(scope="session")
def xvfb_server():
    executable = shutil.which("Xvfb")
    require("Xvfb", executable is not None, "Install it with `apt-get install -y xvfb xauth` (.ci/run does).")
    server = XvfbServer(executable).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def xvfb_display(xvfb_server, monkeypatch):
    """DISPLAY of a running virtual screen (1280x900, 24 bit), set for the duration of the test."""
    monkeypatch.setenv("DISPLAY", xvfb_server.display)
    return xvfb_server.display
