"""Translation catalogues: `python -m app.i18n compile` turns every .po under app/translations
(and under each plugin's translations/ folder) into the .mo files Flask-Babel reads.

The zh catalogue also carries the strings FAB's own zh catalogue lacks; ours is loaded after
FAB's, so its entries win.
"""
import ast
import re
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent

# A call to a gettext function whose argument is one or more adjacent string literals
# (FAB writes long messages as implicitly concatenated literals).
_GETTEXT_CALL = re.compile(
    r"""(?:lazy_gettext|gettext|\b_)\(\s*((?:(?:"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')\s*)+)[,)]""")


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


def fab_source_strings():
    """Every string FAB's own Python code and templates pass to a gettext function.

    FAB's zh catalogue misses some of them; scripts/update_catalogues.py adds those to ours and
    tests/test_i18n.py checks that none is left untranslated.
    """
    # Only the catalogue update reads FAB's sources: `python -m app.i18n compile` (run by every
    # `make run`) does not need FAB and stays quick without loading it.
    import flask_appbuilder

    fab_dir = Path(flask_appbuilder.__file__).parent
    found = set()
    for path in list(fab_dir.rglob("*.py")) + list(fab_dir.rglob("*.html")):
        if "translations" in path.parts:
            continue
        for match in _GETTEXT_CALL.finditer(path.read_text(encoding="utf-8", errors="ignore")):
            try:
                found.add(ast.literal_eval(match.group(1).strip()))
            except (SyntaxError, ValueError):
                continue
    return found


if __name__ == "__main__":
    if sys.argv[1:] != ["compile"]:
        sys.exit("usage: python -m app.i18n compile")
    print(f"compiled {compile_all()} catalogue(s)")
