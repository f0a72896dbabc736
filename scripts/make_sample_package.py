"""Write docs/sample-package.zip: three realistic 基本信息表 forms in package format v1 — the
package a county (杭州市上城区, 330102) would hand in: three of its own websites, each a different
website (one website, one code), each with a 浙江 ICP备案 and address, so importing it as 上城区
gives a report without a warning.

Run from the repository root:  python scripts/make_sample_package.py [OUTPUT]

The UUIDs and the timestamp are fixed so the committed file only changes when the format or the
example data does. Organising units can upload it to try the import.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.forms.package import pack, read_package, validate_forms  # noqa: E402
from app.forms.schema import website_key  # noqa: E402
from plugins.basic_info.identity import out_of_area_warnings  # noqa: E402
from plugins.basic_info.schema import SCHEMA, example_form  # noqa: E402

SAMPLE_UUIDS = (
    "3f2b8c1e-5a47-4d2e-9b61-0c8e7f1a2d34",
    "8d4e6a2b-1c3f-4e5a-8b7c-9d0e1f2a3b4c",
    "c7a1e9d3-2b4f-4a6c-9e8d-1f0b3c5d7e9a",
)
CREATED_AT = "2015-03-01T22:09:46+08:00"
# The province of the county the package is meant for.
PROVINCE = "浙江省"


def main(argv):
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "sample-package.zip"
    forms = [example_form(uuid=u, variant=i) for i, u in enumerate(SAMPLE_UUIDS)]
    pack(SCHEMA, forms, "pucha-filler", "1.0.0", path=out, created_at=CREATED_AT)
    # Prove the file is what an importer will accept.
    results = validate_forms(read_package(out, expected_form_type=SCHEMA.name), SCHEMA)
    bad = [r for r in results if not r.ok]
    if bad:
        raise SystemExit(f"sample form invalid: {bad[0].errors}")
    fields = [r.data["fields"] for r in results]
    if len({website_key(f["home_url"]) for f in fields}) != len(fields):
        raise SystemExit("two sample forms are the same website")
    for f in fields:
        if out_of_area_warnings(f, PROVINCE):
            raise SystemExit(f"sample form {f['site_name']} is not a {PROVINCE} website")
    print(f"wrote {out} ({out.stat().st_size} bytes, {len(results)} forms)")


if __name__ == "__main__":
    main(sys.argv)
