"""The account table a unit hands out to its direct sub-units (SPEC §2, seed 004 §2).

One generator for every place that offers the table: the 账号管理 page, the file center and
`flask pucha account-table`. The initial password is shown only while the account has not
replaced it; afterwards the cell says 已修改.
"""
import datetime
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from app.accounts.models import PuchaUser
from app.forms.xlsx import RollingSheet
from app.orgs.models import Org

HEADERS = ("单位代码", "单位名称", "级别", "用户名", "初始密码", "状态")
WIDTHS = (14, 40, 16, 14, 16, 10)
LEVEL_LABELS = {0: "国家级", 1: "省部级", 2: "地市级", 3: "县级"}
CHANGED = "已修改"


def level_label(org):
    label = LEVEL_LABELS.get(org.level, str(org.level))
    kind = org.kind_label
    return label if kind in (None, "", label) else f"{label}（{kind}）"


def account_rows(session, org):
    """(Org, PuchaUser or None) for each direct sub-unit of ``org``, by code."""
    stmt = (select(Org, PuchaUser)
            .outerjoin(PuchaUser, PuchaUser.org_id == Org.id)
            .where(Org.parent_id == org.id)
            .order_by(Org.code, PuchaUser.id))
    seen, rows = set(), []
    for child, user in session.execute(stmt).all():
        if child.id in seen:  # a unit with several accounts: list its preset one only
            continue
        seen.add(child.id)
        rows.append((child, user))
    return rows


def row_values(child, user):
    if user is None:
        return [child.code, child.name, level_label(child), "", "", "未开通"]
    password = user.initial_password if user.has_initial_password else CHANGED
    return [child.code, child.name, level_label(child), user.username, password,
            user.status_name()]


def table_filename(org):
    return f"{org.code}-下级单位账号表.xlsx"


THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
# Codes and passwords are text: Excel must not turn 330102 into a number.
BODY_STYLE = {"border": BORDER, "number_format": "@"}
HEADER_STYLE = {"font": Font(bold=True), "fill": PatternFill("solid", fgColor="DDEBF7"),
                "alignment": Alignment(horizontal="center", vertical="center"),
                "border": BORDER}
TITLE_STYLE = {"alignment": Alignment(horizontal="center", vertical="center")}


def _page_setup(ws):
    ws.merged_cells.add(f"A1:{get_column_letter(len(HEADERS))}1")
    ws.row_dimensions[1].height = 28
    ws.print_title_rows = "1:2"
    ws.page_setup.orientation = "landscape"


def build_account_table(session, org):
    """The xlsx bytes of ``org``'s direct sub-units' accounts (a few hundred rows at most)."""
    wb = Workbook(write_only=True)
    generated = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    sheet = RollingSheet(wb, "下级单位账号",
                         f"{org.name}（{org.code}）下级单位账号表　生成时间：{generated}",
                         zip(HEADERS, WIDTHS), cell_style=BODY_STYLE, header_style=HEADER_STYLE,
                         title_style=TITLE_STYLE, on_new_sheet=_page_setup)
    for child, user in account_rows(session, org):
        sheet.append(row_values(child, user))
    ws = sheet.ws
    ws.auto_filter.ref = f"A2:{get_column_letter(len(HEADERS))}{sheet.rows}"

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
