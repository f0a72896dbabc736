"""A clock the test moves by hand (``app.clock.now`` replaced), so lock expiry and growing delays
are tested without sleeping."""
import datetime

import pytest


class TestClock:
    __test__ = False  # not a test class, whatever pytest's name pattern says

    def __init__(self, start=None):
        self.current = start or datetime.datetime(2026, 3, 2, 9, 0, 0)

    def now(self):
        return self.current

    def advance(self, **delta):
        self.current += datetime.timedelta(**delta)
        return self.current


@pytest.fixture
def test_clock(monkeypatch):
    """The platform's clock (``app.clock.now``), stopped at 2026-03-02 09:00 and moved by
    ``test_clock.advance(minutes=…)``."""
    from app import clock

    fake = TestClock()
    monkeypatch.setattr(clock, "now", fake.now)
    return fake
