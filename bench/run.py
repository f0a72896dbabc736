"""Benchmarks of 政府网站基本信息表 on a generated national dataset (``python -m bench.run``).

Builds a SQLite database with the real national org tree and its accounts, generates FORMS forms
(default 100,000) spread over the counties with ~10 column rows each by bulk inserts, then
measures, each beside a raw baseline measured in the same run:

- import of a 1,000-form package through ``commands.import_packages``
  vs. the same forms and rows written with plain SQL (executemany);
- the list page (first page, with its count) for the national root and for a county through the
  test client vs. the same count + page query in plain SQL;
- 全部审核 of 5,000 forms (``commands.transition_all``) vs. the same UPDATE + audit INSERT with
  plain SQL executemany (rolled back);
- 导出上报表 of every form (time and peak RSS, each in its own process) vs. the same two sheets
  written directly by openpyxl write-only from plain sqlite3 cursors.

Import and 全部审核 run ``--repeat`` rounds (default 5), ours and raw interleaved so that both
see the shared machine's load alike, the database put back after each round; they are reported
as median and spread, the ratio taken round by round.

The table is written into the "basic_info" section of docs/performance.md (other sections are
left alone) when every measurement ran. Options: --forms N, --keep DIR (reuse/keep the dataset),
--no-docs, --only export,list,import,bulk, --repeat N, --profile DIR (cProfile stats of one
extra, uncounted round of import and 全部审核: DIR/import.prof, DIR/bulk.prof).
"""
import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuid_module
from pathlib import Path

from bench.performance_doc import write_section

ROOT = Path(__file__).resolve().parent.parent
BULK_CITY = "330100"  # 杭州市: 5,000 forms wait here for 全部审核
BULK_COUNT = 5000
IMPORT_COUNT = 1000
PASSWORD = "Bench2468abc"
DOC_MARK_START = "<!-- basic_info:start -->"
DOC_MARK_END = "<!-- basic_info:end -->"


def _app(db_path):
    os.environ.setdefault("PUCHA_VAR_DIR", str(Path(db_path).parent / "var"))
    os.environ.setdefault("PUCHA_SECRET_KEY", "bench-secret-key")
    from app.factory import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "TESTING": True,
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                       "AUTH_RATE_LIMITED": False,
                       "FILE_STORAGE_DIR": Path(db_path).parent / "files",
                       "SERVER_NAME": None})


# --- dataset -----------------------------------------------------------------------------------
def _form_values(site, county, regions, i, stage, holder):
    from plugins.basic_info.demo import site_form

    fields = dict(site["fields"])
    fields["site_name"] = f"{county.name}网站{i}"
    fields.update(dict(zip(("province", "city", "county"), regions)))
    now = site["now"]
    return dict(uuid=str(uuid_module.uuid4()), scope_path=county.path, importer_id=county.id,
                holder_path=holder, stage=stage, version=1, imported_at=now, updated_at=now,
                document={"uuid": None, "fields": fields}, **fields)


def national_tree(session):
    """The real national org tree with its roles, unit accounts and the administrator."""
    from app.accounts.provisioning import ensure_admin, ensure_org_accounts, sync_roles
    from app.orgs.importer import load_default_tree

    sync_roles()
    load_default_tree(session)
    ensure_org_accounts(session)
    ensure_admin(session)
    session.commit()


def build_dataset(db_path, forms):
    import datetime

    from sqlalchemy import func, insert, select

    from app.extensions import db
    from app.migrate import upgrade_database
    from app.orgs.models import Org
    from app.orgs.queries import region_names
    from plugins.basic_info.demo import site_form
    from plugins.basic_info.models import BasicInfoColumnRow, BasicInfoForm
    from plugins.basic_info.schema import SCHEMA

    app = _app(db_path)
    with app.app_context():
        upgrade_database(app)
        session = db.session
        if session.scalar(select(func.count()).select_from(BasicInfoForm)):
            return app
        t0 = time.perf_counter()
        national_tree(session)
        counties = session.execute(select(Org).where(Org.level == 3).order_by(Org.code)
                                   ).scalars().all()
        city = session.execute(select(Org).where(Org.code == BULK_CITY)).scalar_one()
        city_counties = [c for c in counties if c.parent_id == city.id]
        regions = {}

        def regions_of(org):
            if org.id not in regions:
                regions[org.id] = region_names(org, session)
            return regions[org.id]

        template = site_form("样例", "www.example.gov.cn", "否")
        template["now"] = datetime.datetime.now()
        rows_template = SCHEMA.table_rows(template, "columns")
        form_table, row_table = BasicInfoForm.__table__, BasicInfoColumnRow.__table__
        batch, made = 2000, 0
        while made < forms:
            chunk = []
            for i in range(made, min(forms, made + batch)):
                if i < BULK_COUNT:
                    county = city_counties[i % len(city_counties)]
                    stage, holder = "pending", city.path
                else:
                    county = counties[i % len(counties)]
                    stage, holder = "draft", county.path
                chunk.append(_form_values(template, county, regions_of(county), i, stage,
                                          holder))
            session.execute(insert(form_table), chunk)
            ids = session.execute(select(form_table.c.id).where(
                form_table.c.uuid.in_([c["uuid"] for c in chunk]))).scalars().all()
            rows = [dict(form_id=fid, group=r["group"], slot=r["slot"], position=r["position"],
                         name=r["name"], address=r["address"])
                    for fid in ids for r in rows_template]
            session.execute(insert(row_table), rows)
            session.commit()
            made += len(chunk)
        print(f"dataset: {forms} forms, {forms * len(rows_template)} column rows, "
              f"{len(counties)} counties in {time.perf_counter() - t0:.1f} s", flush=True)
    return app


def _password(session, username):
    """Give ``username`` the benchmark's password, as if it had replaced its initial one."""
    from tests.support.accounts import set_known_password

    return set_known_password(session, username, PASSWORD)


def _timed(fn, repeat=1):
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


# --- measurements ------------------------------------------------------------------------------
def _spread(times):
    """``(median, lowest, highest)`` of a list of seconds."""
    return statistics.median(times), min(times), max(times)


def _profiled(profile, name, fn):
    """``fn()``, under cProfile when ``profile`` is a folder (the stats go to ``name``.prof)."""
    if profile is None:
        return fn()
    import cProfile

    profiler = cProfile.Profile()
    try:
        return profiler.runcall(fn)
    finally:
        profiler.dump_stats(str(Path(profile) / f"{name}.prof"))


def _interleaved(app, user, name, ours, undo, raw, repeat, profile):
    """``[(ours, raw), ...]``: ``repeat`` rounds of ``ours(session, user)``, then ``undo(its
    result)`` (which puts the database back, untimed), then ``raw()``, so both sides see the
    machine's load alike. With ``profile``, a first round runs under cProfile and is not counted:
    the profiler slows what it measures."""
    from app.extensions import db

    pairs = []
    for round_ in range(repeat + (profile is not None)):
        with app.app_context():
            session = db.session
            acting = session.merge(user)
            t0 = time.perf_counter()
            result = _profiled(profile if round_ == 0 else None, name,
                               lambda: ours(session, acting))
            seconds = time.perf_counter() - t0
        undo(result)
        t0 = time.perf_counter()
        raw()
        if profile is None or round_ > 0:
            pairs.append((seconds, time.perf_counter() - t0))
    return pairs


def bench_import(app, db_path, repeat=1, profile=None):
    """``[(ours, raw), ...]``: one pair a round, ours and the raw baseline interleaved; after each
    round the imported forms, their rows, audit rows, package row and stored file are removed, so
    every round imports into the same database."""
    from sqlalchemy import delete, func, select

    from app.audit import AuditEvent
    from app.extensions import db
    from app.formtypes.imports import stored_package_path
    from plugins.basic_info import commands
    from plugins.basic_info.demo import package_bytes, site_form
    from plugins.basic_info.models import BasicInfoColumnRow, BasicInfoForm, StoredPackage
    from plugins.basic_info.schema import SCHEMA

    with app.app_context():
        session = db.session
        user = _password(session, "330102")
        docs = [site_form(f"杭州市上城区基准网站{i}", f"s{i}.hzsc.gov.cn", "否", variant=i)
                for i in range(IMPORT_COUNT)]
        data = package_bytes(docs)
        # Above the default per-upload limits (bench/hostile.py measures those): what an
        # operator who raised them pays per form.
        app.config.update(UPLOAD_MAX_FORMS=IMPORT_COUNT,
                          UPLOAD_MAX_UNCOMPRESSED_BYTES=8 * 1024 * 1024,
                          UPLOAD_MAX_JSON_VALUES=200 * IMPORT_COUNT)
        # Baseline: the same forms and rows, already validated, inserted with executemany.
        fields = [f.name for f in SCHEMA.fields]
        forms = [(str(uuid_module.uuid4()), *[d["fields"].get(n, "") for n in fields],
                  json.dumps(d, ensure_ascii=False)) for d in docs]
        rows = [SCHEMA.table_rows(d, "columns") for d in docs]
        last_audit = session.scalar(select(func.max(AuditEvent.id))) or 0
        session.rollback()
    con = sqlite3.connect(db_path)
    cols = ", ".join(f'"{n}"' for n in fields)
    marks = ", ".join("?" for _ in fields)

    def raw():
        cur = con.cursor()
        cur.executemany(
            f"INSERT INTO basic_info_form (uuid, scope_path, importer_id, holder_path, stage, "
            f"version, imported_at, updated_at, {cols}, document) VALUES (?, '/x/', 1, '/x/', "
            f"'draft', 1, datetime('now'), datetime('now'), {marks}, ?)", forms)
        first = cur.execute("SELECT id FROM basic_info_form WHERE uuid = ?",
                            (forms[0][0],)).fetchone()[0]
        cur.executemany(
            'INSERT INTO basic_info_column_row (form_id, "group", slot, position, name, address) '
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(first + i, r["group"], r["slot"], r["position"], r["name"], r["address"])
             for i, form_rows in enumerate(rows) for r in form_rows])
        con.rollback()

    def undo(report):
        with app.app_context():
            session = db.session
            ids = [o.form_id for p in report.packages for o in p.forms if o.form_id]
            package_ids = [p.package_id for p in report.packages]
            files = [stored_package_path(p) for p in session.scalars(
                select(StoredPackage).where(StoredPackage.id.in_(package_ids)))]
            session.execute(delete(BasicInfoColumnRow).where(BasicInfoColumnRow.form_id.in_(ids)))
            session.execute(delete(BasicInfoForm).where(BasicInfoForm.id.in_(ids)))
            session.execute(delete(StoredPackage).where(StoredPackage.id.in_(package_ids)))
            session.execute(delete(AuditEvent).where(AuditEvent.id > last_audit))
            session.commit()
            for path in files:
                path.unlink(missing_ok=True)

    def checked_undo(report):
        assert report.imported == IMPORT_COUNT, report.summary()
        undo(report)

    pairs = _interleaved(app, user, "import", lambda session, acting: commands.import_packages(
        session, acting, [("bench.zip", data)]), checked_undo, raw, repeat, profile)
    con.close()
    return pairs


def bench_list(app, db_path, username):
    from app.extensions import db
    from app.orgs.models import Org

    with app.app_context():
        _password(db.session, username)
        path = db.session.query(Org.path).filter(Org.code == username).scalar()
    client = app.test_client()
    response = client.post("/login/", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    client.get("/basic_info/list/")  # warm-up: templates, first query plan

    def page():
        response = client.get("/basic_info/list/")
        assert response.status_code == 200
        return response

    seconds, _ = _timed(page, repeat=5)
    upper = path[:-1] + "0"
    con = sqlite3.connect(db_path)

    def raw():
        con.execute("SELECT count(*) FROM basic_info_form WHERE scope_path >= ? AND "
                    "scope_path < ?", (path, upper)).fetchone()
        return con.execute(
            "SELECT f.*, o.name FROM basic_info_form f JOIN org o ON o.id = f.importer_id "
            "WHERE f.scope_path >= ? AND f.scope_path < ? ORDER BY f.updated_at DESC, f.id "
            "LIMIT 20", (path, upper)).fetchall()

    base, _ = _timed(raw, repeat=5)
    con.close()
    return seconds, base


def bench_bulk(app, db_path, repeat=1, profile=None):
    """``([(ours, raw), ...], forms taken)``: ours and the raw UPDATE + audit INSERT interleaved;
    after each round the forms are put back where they waited and the new audit rows removed."""
    from sqlalchemy import func, select

    from app.audit import AuditEvent
    from app.extensions import db
    from app.orgs.models import Org
    from plugins.basic_info import commands
    from plugins.basic_info.models import BasicInfoForm

    with app.app_context():
        session = db.session
        city = session.execute(select(Org).where(Org.code == BULK_CITY)).scalar_one()
        city_id, city_path = city.id, city.path
        ids = session.execute(select(BasicInfoForm.id).where(
            BasicInfoForm.holder_path == city.path, BasicInfoForm.stage == "pending")
        ).scalars().all()
        last_audit = session.scalar(select(func.max(AuditEvent.id))) or 0
        user = _password(session, BULK_CITY)
        parent = city.path.rsplit("/", 2)[0] + "/"
    con = sqlite3.connect(db_path)

    def raw():
        con.executemany("UPDATE basic_info_form SET stage = 'pending', holder_path = ?, "
                        "version = version + 1 WHERE id = ? AND version = 1",
                        [(parent, i) for i in ids])
        con.executemany(
            "INSERT INTO audit_event (at, actor_name, org_id, action, object_type, "
            "object_id, from_stage, to_stage) VALUES (datetime('now'), ?, ?, 'approve', "
            "'basic_info', ?, 'pending', 'pending')",
            [(BULK_CITY, city_id, str(i)) for i in ids])
        con.rollback()

    def undo():
        marks = ", ".join("?" for _ in ids)
        con.execute(f"UPDATE basic_info_form SET stage = 'pending', holder_path = ?, version = 1 "
                    f"WHERE id IN ({marks})", (city_path, *ids))
        con.execute("DELETE FROM audit_event WHERE id > ?", (last_audit,))
        con.commit()

    def checked_undo(result):
        assert result.count == len(ids) >= BULK_COUNT, (result.count, len(ids))
        undo()

    pairs = _interleaved(app, user, "bulk", lambda session, acting: commands.transition_all(
        session, acting, "approve"), checked_undo, raw, repeat, profile)
    con.close()
    return pairs, len(ids)


# Peak RSS from /proc (VmHWM): ru_maxrss would carry the parent's peak across fork + exec.
HWM = r"""
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
"""

EXPORT_CHILD = HWM + r"""
import sys, time
sys.path.insert(0, {root!r})
from bench.run import _app, _password, PASSWORD
app = _app({db!r})
with app.app_context():
    from app.extensions import db
    _password(db.session, "000000")
client = app.test_client()
client.post("/login/", data={{"username": "000000", "password": PASSWORD}})
t0 = time.perf_counter()
response = client.get("/basic_info/export")
size = 0
for chunk in response.response:
    size += len(chunk)
print(time.perf_counter() - t0, hwm(), size)
"""

RAW_EXPORT_CHILD = HWM + r"""
import sqlite3, sys, tempfile, time
sys.path.insert(0, {root!r})
import openpyxl  # noqa: F401 - same imports as the app's process, measured from here on
from openpyxl import Workbook
t0 = time.perf_counter()
con = sqlite3.connect({db!r})
fields = {fields!r}
wb = Workbook(write_only=True)
ws = wb.create_sheet("sheet1")
ws.append(["title"]); ws.append(["序号", "填报人", "时间", "状态", "网站标识码"] + fields)
cur = con.execute("SELECT o.name, f.updated_at, f.stage, f.site_code, " +
                  ", ".join('f."%s"' % n for n in fields) +
                  " FROM basic_info_form f JOIN org o ON o.id = f.importer_id"
                  " ORDER BY f.updated_at DESC, f.id DESC")
n = 0
for n, row in enumerate(cur, start=1):
    ws.append([n, *row])
ws2 = wb.create_sheet("sheet2")
ws2.append(["title"]); ws2.append(["网站名称", "网站标识码", "分类", "栏目", "名称", "地址"])
for row in con.execute('SELECT f.site_name, f.site_code, r."group", r.slot, r.name, r.address '
                       "FROM basic_info_column_row r JOIN basic_info_form f ON f.id = r.form_id "
                       "ORDER BY f.updated_at DESC, f.id DESC, r.id"):
    ws2.append(list(row))
out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
wb.save(out)
print(time.perf_counter() - t0, hwm(), out.tell())
"""


def _child(code):
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    seconds, rss_kb, size = out.stdout.strip().splitlines()[-1].split()
    return float(seconds), int(rss_kb) / 1024, int(size)


def bench_export(db_path):
    from app.formtypes.export import sheet_fields
    from plugins.basic_info.schema import SCHEMA

    fields = [f.name for f in sheet_fields(SCHEMA)]
    app_s, app_mb, size = _child(EXPORT_CHILD.format(root=str(ROOT), db=str(db_path)))
    raw_s, raw_mb, raw_size = _child(RAW_EXPORT_CHILD.format(root=str(ROOT), db=str(db_path),
                                                             fields=fields))
    return app_s, app_mb, size, raw_s, raw_mb, raw_size


# --- report ------------------------------------------------------------------------------------
def write_docs(table, forms):
    section = (f"{DOC_MARK_START}\n## basic_info\n\n"
               f"Measured by `python -m bench.run` ({forms:,} generated forms over the real national "
               f"org tree, ~15 column rows each, SQLite, {time.strftime('%Y-%m-%d')}). Each figure "
               "sits beside a raw baseline measured in the same run; the ratio is ours / raw.\n\n"
               + table + "\n\nRaw baselines: plain `executemany` INSERTs of the same validated "
               "forms and rows (import); the same count + first-page query in plain SQL (list); "
               "the same UPDATE + audit INSERT with `executemany`, rolled back (全部审核); the same "
               "two sheets written by openpyxl write-only straight from sqlite3 cursors (export). "
               "Memory is the peak RSS of a separate process doing only that export, so the "
               "platform's import cost (Flask, FAB, SQLAlchemy) is included on our side.\n\n"
               "Reading it: the export is slower to write than to read, so both sides are "
               "dominated by openpyxl (sheet 2 alone holds one row per column entry); rows are "
               "fetched with `yield_per`, the sheets are write-only and the file is spooled to "
               "disk, so 1.5 million rows never sit in memory at once. The list's national page is the count "
               "over every row, as in plain SQL; a county's page costs the fixed per-request "
               "price of Flask, FAB and template rendering. Import and 全部审核 pay for what the "
               "raw INSERT/UPDATE skips: reading and verifying the zip, schema validation of "
               "every form, the version check, one audit row each and storing the package; "
               "全部审核 writes its forms with one UPDATE … WHERE id IN (…) AND version and their "
               "audit rows with one INSERT … SELECT, with no per-row parameters, and what is left "
               "is mostly reading and checking the forms. Import "
               "and 全部审核 are medians of interleaved rounds (ours, then raw), the spread in "
               "brackets, the ratio taken round by round.\n"
               f"{DOC_MARK_END}\n")
    write_section(DOC_MARK_START, DOC_MARK_END, section)


def parse_args(argv, doc, size_option, default, prefix, extra=None):
    """The options every benchmark takes (its dataset size, --keep, --no-docs, and what
    ``extra(parser)`` adds) and its working folder; seeds the generator so a dataset is the same
    each time."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(size_option, type=int, default=default)
    parser.add_argument("--keep", help="directory for the dataset (kept; reused when present)")
    parser.add_argument("--no-docs", action="store_true")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    work = Path(args.keep or tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    random.seed(1)
    return args, work


MEASUREMENTS = ("export", "list", "import", "bulk")


def _options(parser):
    parser.add_argument("--only", default=",".join(MEASUREMENTS),
                        help="comma-separated subset of " + ", ".join(MEASUREMENTS))
    parser.add_argument("--repeat", type=int, default=5,
                        help="rounds of import and 全部审核, each ours then raw (default 5)")
    parser.add_argument("--profile", metavar="DIR",
                        help="write cProfile stats of the first round of import and 全部审核 "
                             "(import.prof, bulk.prof) to DIR")


def main(argv=None):
    args, work = parse_args(argv, __doc__, "--forms", 100_000, "pucha-bench-", _options)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - set(MEASUREMENTS)
    if unknown:
        raise SystemExit(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    db_path = work / "bench.db"
    app = build_dataset(db_path, args.forms)

    lines = ["| measurement | pucha | raw baseline | ratio |", "|---|---:|---:|---:|"]

    def row(name, ours, raw, unit="s"):
        lines.append(f"| {name} | {ours:.3f} {unit} | {raw:.3f} {unit} | {ours / raw:.1f}× |")
        print(lines[-1], flush=True)

    def rounds(name, pairs):
        """Median and spread of interleaved rounds; the ratio is taken round by round."""
        ours, low, high = _spread([o for o, _ in pairs])
        raw, raw_low, raw_high = _spread([r for _, r in pairs])
        ratio, ratio_low, ratio_high = _spread([o / r for o, r in pairs])
        lines.append(f"| {name} (median of {len(pairs)}, spread) | {ours:.3f} s "
                     f"({low:.3f}–{high:.3f}) | {raw:.3f} s ({raw_low:.3f}–{raw_high:.3f}) | "
                     f"{ratio:.1f}× ({ratio_low:.1f}–{ratio_high:.1f}) |")
        print(lines[-1], flush=True)

    if "export" in only:
        # Export first: it reads the dataset as generated.
        app_s, app_mb, size, raw_s, raw_mb, raw_size = bench_export(db_path)
        row(f"导出上报表, {args.forms:,} forms (+ their column rows), time", app_s, raw_s)
        row("导出上报表, peak RSS of the process", app_mb, raw_mb, unit="MB")
        print(f"(xlsx: ours {size / 1e6:.1f} MB, raw {raw_size / 1e6:.1f} MB)")
    if "list" in only:
        ours, raw = bench_list(app, db_path, "000000")
        row("list page 1 with count, national root (000000)", ours, raw)
        ours, raw = bench_list(app, db_path, "330102")
        row("list page 1 with count, a county (330102)", ours, raw)
    if "import" in only:
        rounds(f"import a {IMPORT_COUNT:,}-form package",
               bench_import(app, db_path, args.repeat, args.profile))
    if "bulk" in only:
        pairs, count = bench_bulk(app, db_path, args.repeat, args.profile)
        rounds(f"全部审核 of {count:,} forms", pairs)
    table = "\n".join(lines)
    if not args.no_docs and only == set(MEASUREMENTS):
        write_docs(table, args.forms)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
