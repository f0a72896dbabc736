"""The filler's 生成文件 in seconds (``python -m bench.filler``): FORMS valid forms in a fresh
store packed into one package, packed again (now every form has an export record, as after
the first 生成文件 of a real census), then read back and validated as the server reads it.

tests/test_filler_core.py and tests/test_package.py assert the work (each form file read once,
one package written, each entry inflated and parsed once); this measures the time that work
takes, which docs/filler.md promises the user ("500 份约 1 秒"). Prints one line per step and
exits 1 when either packing takes longer than BUDGET_SECONDS of CPU time (on a shared machine the wall
clock counts the neighbours too, so it is shown beside it). Options: --forms N.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

BUDGET_SECONDS = 5.0  # CPU seconds for 500 forms; docs/filler.md says about 1 s on an ordinary PC


def timed(step):
    t0, c0 = time.perf_counter(), time.process_time()
    result = step()
    return result, time.perf_counter() - t0, time.process_time() - c0


def main(argv=None):
    from app.forms.package import read_package, validate_forms
    from filler.core.export import export_forms
    from filler.core.store import FormStore
    from plugins.basic_info.schema import SCHEMA, example_form

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=500)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pucha-filler-bench-") as work:
        store = FormStore(Path(work) / "data", SCHEMA).ensure()
        uuids = []
        for i in range(args.forms):
            document = example_form(variant=i)
            document["fields"]["site_name"] = f"测试网站{i:04d}"
            uuids.append(store.add_document(document).uuid)
        target = Path(work) / "package.zip"
        result, wall, cpu = timed(lambda: export_forms(store, uuids, target))
        print(f"生成文件 of {len(result.exported)} forms: {cpu:.2f} s CPU ({wall:.2f} s wall), "
              f"{target.stat().st_size / 1024:.0f} KB", flush=True)
        again = Path(work) / "package-again.zip"
        result, again_wall, again_cpu = timed(lambda: export_forms(store, uuids, again))
        print(f"生成文件 again of {len(result.exported)} exported forms: {again_cpu:.2f} s CPU "
              f"({again_wall:.2f} s wall)", flush=True)
        results, read_wall, read_cpu = timed(lambda: validate_forms(read_package(target), SCHEMA))
        print(f"read and validate {len(results)} forms: {read_cpu:.2f} s CPU ({read_wall:.2f} s wall)")
    budget = BUDGET_SECONDS * args.forms / 500
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"budget {budget:.1f} s CPU for each packing")
    return 0 if max(cpu, again_cpu) <= budget else 1


if __name__ == "__main__":
    sys.exit(main())
