"""Walk every URL rule of the app: the scope, CSRF and fuzz tests share this.

A walk enumerates ``app.url_map`` at test time, so a route added tomorrow is walked tomorrow
without anybody listing it. Each parameter of a rule is replaced by the values a test supplies
(``values(kind, name)``), and every method the rule allows is tried.
"""
import hashlib
import re

from sqlalchemy import inspect, select

PARAM = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")
NOT_WALKED = {"static"}


def walked_rules(app, skip=None):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_WALKED or rule.endpoint.endswith(".static"):
            continue
        if skip is not None and skip.search(rule.endpoint):
            continue
        yield rule


def methods_of(rule):
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def urls_for(rule, values):
    """Every URL of ``rule`` with each parameter replaced by each of ``values(kind, name)``."""
    combos = [rule.rule]
    for kind, name in PARAM.findall(rule.rule):
        placeholder = re.compile(r"<(?:[^:<>]+:)?" + re.escape(name) + ">")
        combos = [placeholder.sub(lambda _m, v=value: v, url) for url in combos
                  for value in values(kind or None, name)]
    return combos


def database_fingerprint(session, ignore=lambda table, row: False):
    """{table: sha256 of every row} for every table of the app's metadata: a change anywhere in
    the database changes the fingerprint of its table. ``ignore(table, row)`` leaves rows out
    (a download's audit row, say, records a read and is not a change the user made)."""
    from app.extensions import db

    session.expire_all()
    # A throwaway plugin's tables stay in the shared metadata after its test; they are not in
    # this database.
    present = set(inspect(session.connection()).get_table_names())
    out = {}
    for table in db.metadata.sorted_tables:
        if table.name not in present:
            continue
        digest = hashlib.sha256()
        order = [c for c in table.primary_key.columns] or list(table.columns)
        for row in session.execute(select(table).order_by(*order)):
            if not ignore(table.name, row._mapping):
                digest.update(repr(tuple(row)).encode())
        out[table.name] = digest.hexdigest()
    session.rollback()
    return out


def changed_tables(before, after):
    return sorted(name for name in before if before[name] != after.get(name))
