"""The files the file center generates for a unit that this plugin registers itself."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.account_table import build_account_table, table_filename
from app.extensions import db
from app.orgs.models import Org
from app.registry import FileGenerator


def _has_sub_units(org):
    return db.session.execute(select(Org.id).where(Org.parent_id == org.id).limit(1)).first() \
        is not None


# The account table of the unit's direct sub-units (seed 004 §2): the same generator the 账号管理
# page and `flask pucha account-table` use; a unit without sub-units has none.
ACCOUNT_TABLE = FileGenerator(name="account_table", label=_l("下级单位账号表"),
                              filename=table_filename, applies_to=_has_sub_units,
                              generate=lambda org: build_account_table(db.session, org))
