"""Count the SQL statements a block of code sends: a steady measure of set-based work.

Wall-clock limits fail on a loaded machine and pass on a fast one whatever the code does; the
number of statements does not depend on the machine, and a per-row loop shows up as a count that
grows with the rows. Performance budgets in seconds belong in bench/.
"""
from sqlalchemy import event


class StatementCounter:
    """``with StatementCounter(engine) as counter: ...`` then ``counter.count`` and
    ``counter.statements`` (the SQL text of each statement, in order)."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = []

    @property
    def count(self):
        return len(self.statements)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)


count_statements = StatementCounter
