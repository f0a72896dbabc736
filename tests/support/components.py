"""Real components the tests use, and what happens when one is missing.

``require(name, ok, how_to_get)``: when a component (PostgreSQL, Chromium, Xvfb …) is missing the
test is skipped on a developer machine but FAILS under CI=true, so CI never passes by skipping.
Loaded as a pytest plugin from pytest.ini.
"""
import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(name, ok, how_to_get=""):
    if ok:
        return
    message = f"{name} is not available here. {how_to_get}".strip()
    if IN_CI:
        pytest.fail(f"CI=true and a needed component is missing: {message}", pytrace=False)
    pytest.skip(message)
