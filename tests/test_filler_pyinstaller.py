"""The Windows packaging recipe (filler/pucha-filler.spec) builds a program that starts.

Built here on Linux (PyInstaller does not cross-compile; the same spec builds the .exe on
Windows): the built program must print its version and exit 0, and run a headless command.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from filler import __version__
from tests.support.components import require

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def test_pyinstaller_build_starts_and_prints_its_version(tmp_path):
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        PyInstaller = None
    require("PyInstaller", PyInstaller is not None, "pip install -r requirements-dev.txt")
    # The build's seconds are not asserted (a loaded CI machine would fail it whatever the recipe
    # does); the timeout only stops a build that hangs.
    build = subprocess.run(
        [sys.executable, "-m", "PyInstaller", str(REPO / "filler" / "pucha-filler.spec"), "--noconfirm",
         "--distpath", str(tmp_path / "dist"), "--workpath", str(tmp_path / "build")],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-4000:]
    folder = tmp_path / "dist" / "pucha-filler"
    suffix = ".exe" if os.name == "nt" else ""
    env = dict(os.environ, PUCHA_FILLER_HOME=str(tmp_path / "home"))
    env.pop("DISPLAY", None)
    for program in ("pucha-filler-cli", "pucha-filler"):
        out = subprocess.run([str(folder / f"{program}{suffix}"), "--version"], capture_output=True,
                             text=True, encoding="utf-8", env=env, timeout=60)
        assert out.returncode == 0, out.stderr
        assert __version__ in out.stdout
    # A headless command inside the frozen program: the schema, openpyxl and the store are there.
    out = subprocess.run([str(folder / f"pucha-filler-cli{suffix}"), "--data-dir", str(tmp_path / "data"),
                          "excel-template", str(tmp_path / "模板.xlsx")],
                         capture_output=True, text=True, encoding="utf-8", env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "模板.xlsx").stat().st_size > 5000
    # The catalogue finds the built-in form types inside the bundle (their modules sit in the
    # PYZ archive, collected by the spec without naming them).
    out = subprocess.run([str(folder / f"pucha-filler-cli{suffix}"), "list-types"],
                         capture_output=True, text=True, encoding="utf-8", env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("basic_info  政府网站和栏目（系统）基本信息表")
    # The server's stack stays out of the build.
    internal = folder / "_internal"
    assert not (internal / "flask").exists() and not (internal / "sqlalchemy").exists()
