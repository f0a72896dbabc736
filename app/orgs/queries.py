"""Tree queries over the materialised path: each is one SQL statement, whatever the depth."""
from sqlalchemy import func, select
from sqlalchemy.orm import object_session

from app.orgs.models import Org

# Which slot of 省/部, 市, 县 a unit's name fills, by kind (not by level: a municipality's
# district and 济源市 are level 2 but still county-level, so they fill 县 and leave 市 empty).
REGION_SLOT = {
    "national": 0, "province": 0, "ministry": 0, "xpcc": 0,
    "city": 1, "bureau": 1, "division": 1,
    "county": 2,
}


def get_by_code(session, code):
    return session.scalars(select(Org).where(Org.code == code)).first()


def children(session, org):
    """Direct sub-units, by code."""
    return list(session.scalars(select(Org).where(Org.parent_id == org.id).order_by(Org.code)))


def subtree_select(org, include_self=True):
    stmt = select(Org).where(Org.subtree_clause(org.path))
    if not include_self:
        stmt = stmt.where(Org.id != org.id)
    return stmt.order_by(Org.path)


def subtree(session, org, include_self=True):
    """The unit and everything below it, in path order (a parent before its children)."""
    return list(session.scalars(subtree_select(org, include_self)))


def subtree_count(session, org, include_self=True):
    stmt = select(func.count(Org.id)).where(Org.subtree_clause(org.path))
    if not include_self:
        stmt = stmt.where(Org.id != org.id)
    return session.scalar(stmt)


def ancestors(session, org, include_self=False):
    """The chain from the national root down to the unit's parent (or the unit itself)."""
    codes = org.chain_codes if include_self else org.chain_codes[:-1]
    if not codes:
        return []
    return list(session.scalars(select(Org).where(Org.code.in_(codes)).order_by(Org.level)))


def region_names_for_chain(chain):
    """省/部, 市, 县 from a root-to-unit chain of (name, kind) pairs."""
    names = ["", "", ""]
    for name, kind in chain:
        slot = REGION_SLOT.get(kind)
        if slot is None:
            continue
        if kind == "national":
            # The national root fills 省/部 only for its own websites; any lower unit overwrites.
            names[0] = names[0] or name
        else:
            names[slot] = name
    return tuple(names)


def region_names(org, session=None):
    """(省/部, 市, 县) of a unit, as stamped on the forms it imports.

    330102 → (浙江省, 杭州市, 上城区); 110108 → (北京市, "", 海淀区); 419001 → (河南省, "", 济源市);
    330100 → (浙江省, 杭州市, ""); bm2903 → (国家税务总局, 国家税务总局河北省税务局, "");
    bt0100 → (新疆生产建设兵团, 第一师, ""); 000000 → (国务院办公厅, "", "").
    """
    session = session or object_session(org)
    codes = org.chain_codes
    rows = session.execute(select(Org.code, Org.name, Org.kind).where(Org.code.in_(codes))).all()
    by_code = {code: (name, kind) for code, name, kind in rows}
    chain = [by_code[c] for c in codes if c in by_code]
    # A level-1 unit below the root always wins 省/部 over the root's name.
    if len(chain) > 1 and chain[0][1] == "national":
        chain = chain[1:]
    return region_names_for_chain(chain)
