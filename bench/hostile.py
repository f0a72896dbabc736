"""The cost of the worst uploads (``python -m bench.hostile``): server time and extra RSS.

Each shape of ``tests/support/hostile_packages.py`` is built once, then imported by
``commands.import_packages`` as a county's account in a process of its own (on a copy of a
database with the national org tree), so one shape's memory never counts for another. Measured
per upload, from the bytes in hand to the JSON the API would send:

- CPU time (the budget: server time) and wall time of ``import_packages`` plus serialising
  its report;
- extra peak RSS: VmHWM after the import minus VmRSS before it (the peak is reset first through
  /proc/self/clear_refs, so building the upload does not count);
- the outcome (imported forms or the refusal's code), the size of the report as the API returns
  it and of what is stored in ``basic_info_package.result``.

The table goes into the "hostile" section of docs/performance.md (other sections are left
alone). Options: --shape NAME (repeatable), --keep DIR (reuse/keep the database and the shapes),
--no-docs.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.performance_doc import write_section

ROOT = Path(__file__).resolve().parent.parent
DOC_MARK_START = "<!-- hostile:start -->"
DOC_MARK_END = "<!-- hostile:end -->"
COUNTY = "330102"
BUDGET_SECONDS = 0.5
BUDGET_MB = 100

CHILD = r"""
import gc, json, shutil, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})


def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])


work = Path({work!r})
shutil.copy({db!r}, work / "run.db")
from bench.run import _app
app = _app(work / "run.db")
from app.extensions import db
from plugins.basic_info import commands
from plugins.basic_info.models import StoredPackage
from tests.support.accounts import set_known_password

with app.app_context():
    session = db.session
    user = set_known_password(session, {county!r}, "Bench2468abc")
    data = Path({package!r}).read_bytes()
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current RSS
    rss0 = status("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    report = commands.import_packages(session, user, [({name!r} + ".zip", data)])
    body = json.dumps(report.to_dict(), ensure_ascii=False).encode()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = status("VmHWM")
    (package,) = report.packages
    stored = session.get(StoredPackage, package.package_id) if package.package_id else None
    stored_size = len(json.dumps(stored.result, ensure_ascii=False).encode()) if stored else 0
    print(json.dumps({{"seconds": seconds, "cpu": cpu, "extra_mb": (peak - rss0) / 1024,
                      "outcome": package.error_code or f"{{package.imported + package.updated}} imported",
                      "response_bytes": len(body), "stored_bytes": stored_size,
                      "zip_bytes": len(data)}}))
"""


def build_database(work):
    db_path = work / "base.db"
    if not db_path.exists():
        from bench.run import build_dataset

        build_dataset(db_path, 0)
    return db_path


def build_shapes(work, names):
    from tests.support.hostile_packages import SHAPES

    folder = work / "shapes"
    folder.mkdir(exist_ok=True)
    paths = {}
    for name in names:
        path = folder / f"{name}.zip"
        if not path.exists():
            t0 = time.perf_counter()
            path.write_bytes(SHAPES[name]())
            print(f"built {name}: {path.stat().st_size / 1e6:.1f} MB in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
        paths[name] = path
    return paths


def measure(work, db_path, name, package):
    run_dir = Path(tempfile.mkdtemp(prefix=f"run-{name}-", dir=work))
    code = CHILD.format(root=str(ROOT), work=str(run_dir), db=str(db_path), county=COUNTY,
                        package=str(package), name=name)
    env = dict(os.environ, PUCHA_VAR_DIR=str(run_dir / "var"),
               PUCHA_SECRET_KEY=os.environ.get("PUCHA_SECRET_KEY", "bench-secret-key"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, check=False)
    shutil.rmtree(run_dir, ignore_errors=True)
    if out.returncode != 0:
        raise RuntimeError(f"{name}: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _mb(n):
    return f"{n / 1e6:.2f} MB" if n >= 100_000 else f"{n / 1e3:.1f} KB"


def write_docs(table):
    write_section(DOC_MARK_START, DOC_MARK_END,
                  f"{DOC_MARK_START}\n### Measured by `python -m bench.hostile` "
                  f"({time.strftime('%Y-%m-%d')})\n\n{table}\n{DOC_MARK_END}\n")


def main(argv=None):
    from tests.support.hostile_packages import SHAPES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES))
    parser.add_argument("--keep", help="directory for the database and the shapes (reused)")
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("PUCHA_SECRET_KEY", "bench-secret-key")
    work = Path(args.keep or tempfile.mkdtemp(prefix="pucha-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PUCHA_VAR_DIR", str(work / "var"))
    names = args.shape or list(SHAPES)
    db_path = build_database(work)
    paths = build_shapes(work, names)

    lines = ["| shape | zip | outcome | wall time (CPU time) | extra RSS | response | stored result |",
             "|---|---:|---|---:|---:|---:|---:|"]
    worst_s = worst_cpu = worst_mb = 0.0
    load = os.getloadavg()[0]
    for name in names:
        r = measure(work, db_path, name, paths[name])
        worst_s, worst_mb = max(worst_s, r["seconds"]), max(worst_mb, r["extra_mb"])
        worst_cpu = max(worst_cpu, r["cpu"])
        lines.append(f"| {name} | {_mb(r['zip_bytes'])} | {r['outcome']} | "
                     f"{r['seconds']:.3f} s ({r['cpu']:.3f} s) | {r['extra_mb']:.1f} MB | "
                     f"{_mb(r['response_bytes'])} | {_mb(r['stored_bytes'])} |")
        print(lines[-1], flush=True)
    verdict = (f"Worst: {worst_cpu:.3f} s CPU ({worst_s:.3f} s wall at load average "
               f"{load:.1f} on {os.cpu_count()} cores), {worst_mb:.1f} MB extra RSS "
               f"(budget {BUDGET_SECONDS} s, {BUDGET_MB} MB).")
    table = "\n".join(lines) + "\n\n" + verdict + "\n"
    print(verdict)
    if not args.no_docs:
        write_docs(table)
    # Server time is CPU time: on a shared machine the wall clock measures the neighbours too.
    return 0 if worst_cpu <= BUDGET_SECONDS and worst_mb <= BUDGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
