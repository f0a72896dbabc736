"""Pure functions over materialised org paths (``/000000/330000/330100/330102/``).

Forms remember where they sit as paths, so "the holder's parent", "the unit that sent it up" and
"is the viewer above or below the holder" are string operations — no org lookups per row.
"""


def codes(path):
    return [c for c in path.split("/") if c]


def level_of(path):
    """0 for the national root, 1 for provinces/ministries/XPCC, and so on."""
    return len(codes(path)) - 1


def parent_path(path):
    parts = codes(path)
    if len(parts) <= 1:
        return None
    return "/" + "/".join(parts[:-1]) + "/"


def child_on_chain(holder_path, chain_path):
    """The path one level below ``holder_path`` on the way down to ``chain_path``."""
    holder, chain = codes(holder_path), codes(chain_path)
    if len(chain) <= len(holder) or chain[: len(holder)] != holder:
        return None
    return "/" + "/".join(chain[: len(holder) + 1]) + "/"


def code_of(path):
    parts = codes(path)
    return parts[-1] if parts else None


def is_within(path, ancestor_path):
    """True when ``path`` is ``ancestor_path`` or lies below it."""
    return path.startswith(ancestor_path)
