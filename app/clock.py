"""The platform's clock: one place to read the time, so tests can move it instead of sleeping.

Call ``clock.now()`` through the module (``from app import clock``), never ``from app.clock
import now``: a test replaces ``app.clock.now`` and every caller must see the replacement.
Naive local time, as every DateTime column of pucha stores it.
"""
import contextlib
import contextvars
import datetime

_instant = contextvars.ContextVar("pucha_clock_instant", default=None)


def now():
    pinned = _instant.get()
    return datetime.datetime.now() if pinned is None else pinned


@contextlib.contextmanager
def one_instant():
    """Inside the block ``now()`` answers one moment: every row one action changes is changed
    at the same time, so rows alike stay alike (and the engine writes them with one statement,
    not one each). Nested blocks keep the outer moment."""
    if _instant.get() is not None:
        yield
        return
    token = _instant.set(now())
    try:
        yield
    finally:
        _instant.reset(token)
