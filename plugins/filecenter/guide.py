"""The user guide (docs/user-guide.md, SUPPORT_GUIDE_FILE) as a page of the 技术支持中心.

Rendered with markdown-it-py (CommonMark) with raw HTML switched off: whatever the file holds,
only the HTML the Markdown makes reaches the page. Rendered once per file version (its mtime and
size), so a visitor's request costs a dictionary look-up.
"""
import os
from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup


@lru_cache(maxsize=4)
def _render(path, mtime, size):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def rendered(path):
    """The guide as safe HTML, or None when the file is missing."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return Markup(_render(str(path), stat.st_mtime_ns, stat.st_size))
