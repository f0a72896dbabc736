"""The one unit-of-work rule: a command's writes commit together or not at all.

Every command that changes something runs its writes inside ``with unit_of_work(session):``. The
block commits when it ends normally and rolls back on any exception, so no caller (view, API,
CLI, test) commits or rolls back a command's work itself, and a refused command leaves a clean
session for the next request. A lost race — the database refusing a write because another
transaction changed the same rows first (a version-checked UPDATE that matched nothing, a unique
key taken meanwhile) — becomes ``Conflict``: "someone acted first, refresh", not an error page.

A command that must commit in steps (the import stores each uploaded file before reading it, so
what a unit handed in is kept whatever happens next) opens one unit of work per step.
"""
import contextlib

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.errors import Conflict

LOST_RACE = (StaleDataError, IntegrityError)


@contextlib.contextmanager
def unit_of_work(session, lost_race=LOST_RACE, conflict=None):
    """Commit ``session`` when the block succeeds; roll back and re-raise when it fails. The
    exceptions in ``lost_race`` are re-raised as ``conflict()`` (a ``Conflict``, whose sentence
    says the row changed and to refresh; the workflow passes its ConcurrentChange)."""
    try:
        yield session
        session.commit()
    except lost_race:
        session.rollback()
        raise (conflict or Conflict)() from None
    except BaseException:
        session.rollback()
        raise

