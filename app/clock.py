"""The platform's clock: one place to read the time, so tests can move it instead of sleeping.

Call ``clock.now()`` through the module (``from app import clock``), never ``from app.clock
import now``: a test replaces ``app.clock.now`` and every caller must see the replacement.
Naive local time, as every DateTime column of pucha stores it.
"""
import datetime


def now():
    return datetime.datetime.now()
