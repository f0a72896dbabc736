"""docs/config.md documents every environment variable config.py reads."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented():
    used = set(re.findall(r"PUCHA_[A-Z_]+", (ROOT / "config.py").read_text(encoding="utf-8")))
    documented = set(re.findall(r"PUCHA_[A-Z_]+", (ROOT / "docs/config.md").read_text(encoding="utf-8")))
    assert used, "config.py reads no PUCHA_ variables?"
    assert sorted(used - documented) == []
