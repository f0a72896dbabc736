"""Each benchmark owns one marked section of docs/performance.md and rewrites only that one."""
from pathlib import Path

PATH = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def write_section(start_mark, end_mark, section):
    """Put ``section`` (which begins with ``start_mark`` and ends with ``end_mark``) in place of
    the marked section, or append it when the page has none yet."""
    text = PATH.read_text(encoding="utf-8") if PATH.exists() else "# Performance\n"
    if start_mark in text and end_mark in text:
        head, rest = text.split(start_mark, 1)
        text = head + section + rest.split(end_mark, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    PATH.write_text(text, encoding="utf-8")
