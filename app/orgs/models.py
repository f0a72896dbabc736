"""Organising units as a tree with a materialised path.

``path`` is the chain of codes from the root, e.g. ``/000000/330000/330100/330102/``. A subtree
is one indexed range scan (``path >= P and path < P'``) and an ancestor chain is the codes in the
path: no recursion per row at national scale. The column is compared byte-wise (collation "C"
on PostgreSQL) so the range is exact.
"""
from flask_appbuilder import Model
from flask_babel import gettext
from sqlalchemy import Column, ForeignKey, Integer, SmallInteger, String, select
from sqlalchemy.orm import relationship

PathString = String(128).with_variant(String(128, collation="C"), "postgresql")

# The mark of a column that holds a copy of a unit's path (a row's scope, a form's holder).
ORG_PATH_INFO = "org_path"


def org_path_column(name=None, **kwargs):
    """A column holding a copy of an org path, marked so that a unit's move rewrites it
    (app.orgs.importer finds the columns to rewrite by this mark, not by their names).
    ``name`` for a Core ``Table``; a declarative attribute takes its own."""
    info = dict(kwargs.pop("info", None) or {}, **{ORG_PATH_INFO: True})
    args = (name, PathString) if name else (PathString,)
    return Column(*args, info=info, **kwargs)


def is_org_path_column(column):
    """True for a column made by ``org_path_column``."""
    return bool(column.info.get(ORG_PATH_INFO))

LEVEL_NATIONAL, LEVEL_TOP, LEVEL_2, LEVEL_3 = 0, 1, 2, 3



def N_(text):
    """Mark ``text`` for extraction only; it is translated where it is shown."""
    return text


# The Chinese names are data too (the org import accepts them as kinds); ``kind_label`` translates.
KIND_LABELS = {
    "national": N_("国务院办公厅"),
    "province": N_("省级"),
    "ministry": N_("国务院部门"),
    "xpcc": N_("新疆生产建设兵团"),
    "city": N_("地市级"),
    "county": N_("县级"),
    "bureau": N_("垂直管理省局"),
    "division": N_("兵团师"),
}


def path_upper_bound(path):
    """The smallest string greater than every path that starts with ``path`` (which ends in '/')."""
    return path[:-1] + chr(ord("/") + 1)


class Org(Model):
    __tablename__ = "org"

    id = Column(Integer, primary_key=True)
    code = Column(String(16), unique=True, nullable=False)
    name = Column(String(100), nullable=False)
    level = Column(SmallInteger, nullable=False)
    kind = Column(String(16), nullable=False)
    parent_id = Column(Integer, ForeignKey("org.id"), index=True)
    path = Column(PathString, unique=True, nullable=False)

    parent = relationship("Org", remote_side=[id], backref="children")

    def __repr__(self):
        return f"{self.name}"

    @property
    def chain_codes(self):
        """Codes from the root down to this unit."""
        return [c for c in self.path.split("/") if c]

    @property
    def kind_label(self):
        return kind_label(self.kind)

    def contains(self, other):
        """True when ``other`` is this unit or below it."""
        return other.path.startswith(self.path)

    @classmethod
    def subtree_clause(cls, path, column=None):
        column = column if column is not None else cls.path
        return (column >= path) & (column < path_upper_bound(path))

    @classmethod
    def subtree_ids(cls, path):
        return select(cls.id).where(cls.subtree_clause(path))


def kind_label(kind):
    """The kind in the viewer's language (lists show ``kind`` through this, so they sort by it)."""
    return gettext(KIND_LABELS[kind]) if kind in KIND_LABELS else kind
