"""Translation catalogues: `python -m app.i18n compile` turns every .po under app/translations
(and under each plugin's translations/ folder) into the .mo files Flask-Babel reads.

The zh catalogue also carries the strings FAB's own zh catalogue lacks; ours is loaded after
FAB's, so its entries win.
"""
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def catalogue_files():
    return sorted(ROOT.glob("app/translations/*/LC_MESSAGES/*.po"))


def compile_all():
    count = 0
    for po_path in catalogue_files():
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=po_path.parent.parent.name)
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with mo_path.open("wb") as fh:
            write_mo(fh, catalog)
        count += 1
    return count


if __name__ == "__main__":
    if sys.argv[1:] != ["compile"]:
        sys.exit("usage: python -m app.i18n compile")
    print(f"compiled {compile_all()} catalogue(s)")
