"""Loading and importing the org tree.

Both the embedded default tree and an administrator's CSV/Excel file go through one engine:
parse rows -> validate every row against the database and the rows before it -> apply in bulk.
Validation finishes before anything is written, so a file with one bad row changes nothing.

Nothing here commits: the caller owns the transaction, so an import, the path rewrite of every
scoped table and the audit row land together or not at all.
"""
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import insert, literal, select, update
from sqlalchemy.sql import func

from app import audit
from app.orgs import changes
from app.orgs.models import KIND_LABELS, Org, is_org_path_column, path_upper_bound

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_FILES = (DATA_DIR / "central_units.csv", DATA_DIR / "national_orgs.csv")
ROOT_CODE = "000000"

FIELDS = ("code", "name", "level", "kind", "parent_code")
HEADER_ALIASES = {
    "code": "code", "代码": "code", "单位代码": "code", "组织机构代码": "code",
    "name": "name", "名称": "name", "单位名称": "name",
    "level": "level", "级别": "level", "层级": "level",
    "kind": "kind", "类型": "kind", "单位类型": "kind",
    "parent_code": "parent_code", "parent": "parent_code", "上级代码": "parent_code",
    "上级单位代码": "parent_code",
}
KIND_ALIASES = {label: kind for kind, label in KIND_LABELS.items()}
KIND_ALIASES.update({"省": "province", "市": "city", "县": "county", "部委": "ministry",
                     "兵团": "xpcc", "师": "division", "垂直管理局": "bureau"})

CODE_PATTERNS = {
    "national": re.compile(r"^000000$"),
    "province": re.compile(r"^[1-9]\d0000$"),
    "city": re.compile(r"^[1-9]\d(?!00)\d\d00$"),
    "county": re.compile(r"^[1-9]\d{3}(?!00)\d\d$"),
    "ministry": re.compile(r"^bm\d\d00$"),
    "bureau": re.compile(r"^bm\d\d(?!00)\d\d$"),
    "xpcc": re.compile(r"^bt0000$"),
    "division": re.compile(r"^bt(?!00)\d\d00$"),
}
CODE_FORMAT_HINTS = {
    "national": "000000",
    "province": "6 位数字，后四位为 0000",
    "city": "6 位数字，后两位为 00",
    "county": "6 位数字，后两位不为 00",
    "ministry": "bm + 4 位数字，后两位为 00（如 bm2900）",
    "bureau": "所属部门代码前 4 位 + 2 位序号（如 bm7104）",
    "xpcc": "bt0000",
    "division": "bt + 2 位序号 + 00（如 bt0100）",
}
# Which kind of unit may sit directly under which: keeps a county from landing under a ministry.
PARENT_KINDS = {
    "national": (),
    "province": ("national",),
    "ministry": ("national",),
    "xpcc": ("national",),
    "city": ("province",),
    "county": ("province", "city"),
    "bureau": ("ministry",),
    "division": ("xpcc",),
}


class OrgImportError(Exception):
    """The file was refused; ``errors`` lists (line number, reason) for every bad row."""

    def __init__(self, errors, file_name=None):
        self.errors = list(errors)
        self.file_name = file_name
        super().__init__(self.message())

    def lines(self):
        return [f"第 {line} 行：{reason}" if line else reason for line, reason in self.errors]

    def message(self):
        head = f"文件未导入（共 {len(self.errors)} 处错误，文件中的任何内容均未生效）："
        return "\n".join([head, *self.lines()])


@dataclass
class ImportReport:
    file_name: str = ""
    rows: int = 0
    added: list = field(default_factory=list)
    renamed: list = field(default_factory=list)
    moved: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    unchanged: int = 0
    paths_rewritten: int = 0

    def summary(self):
        return (f"共 {self.rows} 行：新增 {len(self.added)} 个，更名 {len(self.renamed)} 个，"
                f"调整上级 {len(self.moved)} 个，其他修改 {len(self.changed)} 个，"
                f"未变 {self.unchanged} 个；同步更新路径 {self.paths_rewritten} 处。")

    def as_detail(self, limit=200):
        return {
            "file": self.file_name, "rows": self.rows, "unchanged": self.unchanged,
            "added": self.added[:limit], "renamed": self.renamed[:limit],
            "moved": self.moved[:limit], "changed": self.changed[:limit],
            "paths_rewritten": self.paths_rewritten,
        }


@dataclass
class _Row:
    line: int
    code: str
    name: str
    level: str
    kind: str
    parent_code: str


# --- reading files -----------------------------------------------------------------------------

def _decode(raw):
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # Excel on a Chinese Windows saves "CSV" as GBK; gb18030 is its superset.
        return raw.decode("gb18030")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_table(file_path):
    """Rows of a CSV or xlsx file as lists of strings, with their 1-based line numbers."""
    path = Path(file_path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            return [(n, [_cell(v) for v in values])
                    for n, values in enumerate(sheet.iter_rows(values_only=True), 1)]
        finally:
            workbook.close()
    if path.suffix.lower() == ".xls":
        raise OrgImportError([(None, "不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV 后导入")], path.name)
    text = _decode(path.read_bytes())
    return [(n, [c.strip() for c in cells])
            for n, cells in enumerate(csv.reader(io.StringIO(text, newline="")), 1)]


def parse_rows(table, file_name=None):
    """Map the header to the five fields and turn data lines into ``_Row``s."""
    table = [(n, cells) for n, cells in table if any(cells)]
    if not table:
        raise OrgImportError([(None, "文件为空")], file_name)
    header_line, header = table[0]
    columns = {}
    for index, title in enumerate(header):
        key = HEADER_ALIASES.get(title.strip().lstrip("\ufeff").lower())
        if key and key not in columns:
            columns[key] = index
    missing = [f for f in ("code", "name", "parent_code") if f not in columns]
    if missing:
        names = {"code": "代码", "name": "名称", "parent_code": "上级代码"}
        raise OrgImportError(
            [(header_line, "表头缺少列：" + "、".join(names[m] for m in missing)
              + "（表头应为 代码,名称,级别,类型,上级代码 或 code,name,level,kind,parent_code）")],
            file_name)

    def get(cells, key):
        index = columns.get(key)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    return [_Row(n, get(c, "code"), get(c, "name"), get(c, "level"), get(c, "kind"),
                 get(c, "parent_code")) for n, c in table[1:]]


def infer_kind(code):
    """The kind a code implies, for files that leave 类型 empty."""
    if code == ROOT_CODE:
        return "national"
    if code == "bt0000":
        return "xpcc"
    for kind in ("province", "city", "ministry", "division", "bureau"):
        if CODE_PATTERNS[kind].match(code):
            return kind
    if CODE_PATTERNS["county"].match(code):
        return "county"
    return None


# --- validation ----------------------------------------------------------------------------------

@dataclass
class _Unit:
    code: str
    name: str
    level: int
    kind: str
    parent_code: str
    line: int = 0
    existing: bool = False


def _db_units(session):
    ids = {}
    units = {}
    for oid, code, name, level, kind, parent_id in session.execute(
            select(Org.id, Org.code, Org.name, Org.level, Org.kind, Org.parent_id)):
        ids[oid] = code
        units[code] = _Unit(code, name, level, kind, parent_id, existing=True)
    for unit in units.values():
        unit.parent_code = ids.get(unit.parent_code) or ""
    return units


def validate(session, rows, file_name=None):
    """Check every row; return the final units keyed by code, or raise OrgImportError."""
    db = _db_units(session)
    errors = []
    final = dict(db)
    in_file = {}
    bad_codes = set()
    seen_lines = {}
    for row in rows:
        problems = []
        code = row.code.strip()
        parent_code = row.parent_code.strip()
        if not code:
            errors.append((row.line, "代码为空"))
            continue
        if code in seen_lines:
            errors.append((row.line, f"代码 {code} 与第 {seen_lines[code]} 行重复"))
            continue
        seen_lines[code] = row.line
        name = row.name.strip()
        if not name:
            problems.append("名称为空")
        elif len(name) > 100:
            problems.append("名称超过 100 个字符")

        kind = KIND_ALIASES.get(row.kind.strip(), row.kind.strip().lower())
        if not kind:
            kind = db[code].kind if code in db else infer_kind(code)
        if kind not in CODE_PATTERNS:
            problems.append(f"类型 {row.kind or '（空）'} 无效，应为：" + "、".join(
                f"{k}（{KIND_LABELS[k]}）" for k in CODE_PATTERNS))
            kind = None
        elif not CODE_PATTERNS[kind].match(code):
            problems.append(f"代码 {code} 不符合{KIND_LABELS[kind]}代码格式（{CODE_FORMAT_HINTS[kind]}）")

        parent = None
        if code == ROOT_CODE:
            if parent_code:
                problems.append("全国根节点 000000 不能有上级代码")
        elif not parent_code:
            problems.append("上级代码为空")
        elif parent_code == code:
            problems.append("上级代码不能是本单位")
        elif parent_code in in_file:
            parent = in_file[parent_code]
        elif parent_code in db:
            parent = final[parent_code]
        elif parent_code in bad_codes:
            problems.append(f"上级代码 {parent_code} 所在行有错误")
        elif any(r.code.strip() == parent_code for r in rows if r.line > row.line):
            problems.append(f"上级代码 {parent_code} 在本行之后才出现，请把上级单位排在前面")
        else:
            problems.append(f"上级代码 {parent_code} 不存在")

        level = None
        if row.level.strip():
            try:
                level = int(row.level.strip())
            except ValueError:
                problems.append(f"级别 {row.level} 不是整数")
        expected = 0 if code == ROOT_CODE else (parent.level + 1 if parent else None)
        if level is None:
            level = expected
        elif expected is not None and level != expected:
            problems.append(f"级别 {level} 应为上级单位级别 + 1，即 {expected}")
        if parent is not None and kind and parent.kind not in PARENT_KINDS[kind]:
            problems.append(f"{KIND_LABELS[kind]}不能隶属于{KIND_LABELS.get(parent.kind, parent.kind)}"
                            f" {parent.code}")
        if kind == "bureau" and parent is not None and code[:4] != parent.code[:4]:
            problems.append(f"垂直管理局代码 {code} 的前 4 位应与所属部门 {parent.code} 相同")

        old = db.get(code)
        if old is not None and level is not None and level != old.level and _has_children(db, code):
            problems.append(f"单位 {code} 有下级单位，不能改变其级别（{old.level} → {level}）")

        if problems:
            errors.extend((row.line, p) for p in problems)
            bad_codes.add(code)
            continue
        unit = _Unit(code, name, level, kind, parent_code, line=row.line, existing=old is not None)
        in_file[code] = unit
        final[code] = unit

    errors.extend(_cycle_errors(final, in_file))
    if errors:
        errors.sort(key=lambda e: (e[0] or 0))
        raise OrgImportError(errors, file_name)
    return db, in_file


def _has_children(db, code):
    return any(u.parent_code == code for u in db.values())


def _cycle_errors(final, in_file):
    """A unit moved under its own descendant would make the tree a loop."""
    errors = []
    for code, unit in in_file.items():
        if not unit.existing:
            continue
        seen = {code}
        cursor = unit.parent_code
        while cursor:
            if cursor in seen:
                errors.append((unit.line, f"上级代码 {unit.parent_code} 是本单位的下级，形成循环"))
                break
            seen.add(cursor)
            cursor = final[cursor].parent_code if cursor in final else ""
    return errors


# --- applying -------------------------------------------------------------------------------------

def _path_columns(session):
    """The columns outside ``org`` that hold a copy of an org path: those marked by
    ``org_path_column``, found in the metadata (a column's name says nothing)."""
    existing = set(sa_inspect(session.connection()).get_table_names())
    found = []
    for table in Org.metadata.sorted_tables:
        if table.name == Org.__tablename__ or table.name not in existing:
            continue
        for column in table.columns:
            if is_org_path_column(column):
                found.append(column)
    return found


def _rewrite_prefix(session, column, old, new):
    """Replace the path prefix ``old`` by ``new`` in every value of ``column`` under ``old``."""
    stmt = (update(column.table)
            .where(column >= old, column < path_upper_bound(old))
            .values({column.name: literal(new) + func.substr(column, len(old) + 1)}))
    return session.execute(stmt).rowcount or 0


def _move(session, code, new_parent_code, extra_columns):
    """Re-parent one unit: its row, its whole subtree and every scoped copy of those paths."""
    table = Org.__table__
    old_path, = session.execute(select(table.c.path).where(table.c.code == code)).one()
    parent_id, parent_path = session.execute(
        select(table.c.id, table.c.path).where(table.c.code == new_parent_code)).one()
    new_path = f"{parent_path}{code}/"
    session.execute(update(table).where(table.c.code == code).values(parent_id=parent_id))
    rewritten = _rewrite_prefix(session, table.c.path, old_path, new_path)
    for column in extra_columns:
        rewritten += _rewrite_prefix(session, column, old_path, new_path)
    return rewritten


def apply_units(session, db, in_file, report):
    """Write validated units: moves first (one at a time, in file order), then bulk changes."""
    session.flush()
    table = Org.__table__
    extra_columns = None
    updates = []
    for code, unit in in_file.items():
        old = db.get(code)
        if old is None:
            continue
        if old.parent_code != unit.parent_code:
            if extra_columns is None:
                extra_columns = _path_columns(session)
            report.paths_rewritten += _move(session, code, unit.parent_code, extra_columns)
            report.moved.append(code)
        values = {}
        if old.name != unit.name:
            values["name"] = unit.name
            report.renamed.append(code)
        if old.kind != unit.kind or old.level != unit.level:
            values.update(kind=unit.kind, level=unit.level)
            report.changed.append(code)
        if values:
            updates.append({"b_code": code, **values})
        elif old.parent_code == unit.parent_code:
            report.unchanged += 1
    for values in updates:
        code = values.pop("b_code")
        session.execute(update(table).where(table.c.code == code).values(**values))

    new_units = [u for u in in_file.values() if not u.existing]
    if new_units:
        report.added.extend(u.code for u in new_units)
        _insert_new(session, new_units)
    _expire_orgs(session)


def _insert_new(session, new_units):
    """Insert new units one tree level per statement, so every parent id is known in advance."""
    table = Org.__table__
    known = {code: (oid, path) for oid, code, path in
             session.execute(select(table.c.id, table.c.code, table.c.path))}
    pending = list(new_units)
    while pending:
        batch = [u for u in pending if not u.parent_code or u.parent_code in known]
        if not batch:  # validation guarantees progress; this guards against a logic slip
            raise RuntimeError("unresolvable parents: " + ", ".join(u.code for u in pending[:5]))
        values = []
        for unit in batch:
            parent_id, parent_path = known.get(unit.parent_code, (None, "/"))
            values.append({"code": unit.code, "name": unit.name, "level": unit.level,
                           "kind": unit.kind, "parent_id": parent_id,
                           "path": f"{parent_path}{unit.code}/"})
        session.execute(insert(table), values)
        codes = [v["code"] for v in values]
        for start in range(0, len(codes), 500):
            chunk = codes[start:start + 500]
            for oid, code, path in session.execute(
                    select(table.c.id, table.c.code, table.c.path).where(table.c.code.in_(chunk))):
                known[code] = (oid, path)
        batch_codes = set(codes)
        pending = [u for u in pending if u.code not in batch_codes]


def _expire_orgs(session):
    """Objects loaded before the SQL updates would show stale paths and names."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Org) or _holds_org_paths(obj):
            session.expire(obj)


def _holds_org_paths(obj):
    table = getattr(type(obj), "__table__", None)
    return table is not None and any(is_org_path_column(c) for c in table.columns)


# --- public entry points --------------------------------------------------------------------------

def import_orgs(session, file_path, actor=None):
    """Add or update units from a CSV (UTF-8, UTF-8 with BOM, GBK) or xlsx file.

    All or nothing: raises OrgImportError listing every bad row before anything is written.
    Returns an ImportReport; writes one audit row. The caller commits.
    """
    path = Path(file_path)
    rows = parse_rows(read_table(path), path.name)
    if not rows:
        raise OrgImportError([(None, "文件中没有数据行")], path.name)
    db, in_file = validate(session, rows, path.name)
    report = ImportReport(file_name=path.name, rows=len(rows))
    apply_units(session, db, in_file, report)
    audit.record(session, "import_orgs", "org", actor=actor, detail=report.as_detail())
    changes.announce(session, added=report.added, moved=report.moved, renamed=report.renamed,
                     actor=actor)
    return report


def default_rows():
    rows = []
    for data_file in DEFAULT_FILES:
        for row in parse_rows(read_table(data_file), data_file.name):
            rows.append(row)
    return rows


def load_default_tree(session, refresh=False):
    """Add the units of the embedded national tree that are missing; return how many were added.

    Existing units are left as they are (an administrator may have renamed or moved them since)
    unless ``refresh`` is true, which brings names and parents back to the shipped data.
    """
    rows = default_rows()
    if not refresh:
        existing = set(session.scalars(select(Org.code)))
        rows = [r for r in rows if r.code not in existing]
        if not rows:
            return 0
    db, in_file = validate(session, rows, "national tree")
    report = ImportReport(file_name="national tree", rows=len(rows))
    apply_units(session, db, in_file, report)
    if report.added or report.renamed or report.moved or report.changed:
        audit.record(session, "load_orgs", "org", detail=report.as_detail(limit=50))
    return len(report.added)


def unit_problems(session, code, name, kind, parent_code):
    """What stops adding one unit (the admin's add form), by the import's own rules; [] when
    nothing does."""
    row = _Row(line=1, code=code, name=name, level="", kind=kind, parent_code=parent_code)
    try:
        validate(session, [row])
    except OrgImportError as error:
        return [reason for _, reason in error.errors]
    return []
