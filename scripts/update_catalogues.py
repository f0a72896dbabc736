"""Re-extract pucha's translatable strings and merge them into the catalogues.

    .venv/bin/python scripts/update_catalogues.py          # update the .pot, en and zh .po files
    .venv/bin/python scripts/update_catalogues.py --check  # exit 1 if anything would change

1. Extracts every string from app/ and plugins/ (python: ``_``, ``gettext``, ``lazy_gettext``,
   ``_l``, ``N_``, and ``_t``: the messages of app/forms/schema.py and package.py, field errors
   and package refusals; templates: ``_()`` / ``gettext()``) as babel.cfg lists them, into
   app/translations/messages.pot. Our source strings are Chinese. The census schemas' labels
   and help texts are not in the catalogue: a schema declares them in both languages itself
   (``label_en``, ``help_en``, ``choices_en``; tests/test_i18n_en.py checks none is missing).
2. Merges the .pot into the en catalogue (Babel's update): new strings arrive with an empty
   msgstr (or a fuzzy guess from a similar old string) for a developer to fill in; strings no longer
   in the source are dropped.
3. Merges into the zh catalogue the strings FAB's own zh catalogue misses (found by reading FAB's
   source with ``app.i18n.fab_source_strings``, as tests/test_i18n.py does). Our Chinese source
   strings need no zh entry: gettext falls back to the msgid, which is already Chinese.

Files are only rewritten when their messages change, so a run without new strings leaves git clean.
Afterwards: fill in the empty msgstr lines, then ``python -m app.i18n compile``.
"""
import argparse
import gettext
import io
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.i18n import fab_source_strings  # noqa: E402  (needs ROOT on the path)

TRANSLATIONS = ROOT / "app" / "translations"
POT = TRANSLATIONS / "messages.pot"
# Python call names that mark a translatable string (Babel's defaults cover _, gettext, N_, ...).
KEYWORDS = ("lazy_gettext", "_l", "lazy_ngettext:1,2", "_t")


def extract(pot_path):
    """Write the .pot of app/ and plugins/ to ``pot_path``; return it as a Catalog."""
    argv = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-o", str(pot_path),
            "--project", "pucha", "--copyright-holder", "pucha", "--no-wrap",
            "--add-location", "file", "--sort-by-file"]
    for keyword in KEYWORDS:
        argv += ["-k", keyword]
    argv.append(str(ROOT))
    CommandLineInterface().run(argv)
    # Locations relative to the repository, whatever the working directory was.
    with open(pot_path, "rb") as fh:
        catalog = read_po(fh)
    for message in catalog:
        message.locations = [(_relative(path), lineno) for path, lineno in message.locations]
    for message in catalog:  # in file order, as the .po writer puts them
        message.locations = sorted(message.locations, key=lambda location: location[0])
    return catalog


def _relative(path):
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path


def fab_missing_zh():
    """FAB's source strings that FAB's own zh catalogue leaves untranslated."""
    import flask_appbuilder

    fab_dir = Path(flask_appbuilder.__file__).parent
    with (fab_dir / "translations/zh/LC_MESSAGES/messages.mo").open("rb") as fh:
        fab_zh = gettext.GNUTranslations(fh)
    return {text for text in fab_source_strings() if text and fab_zh.gettext(text) == text}


def _content(catalog):
    """What matters in a catalogue, without its header dates."""
    return sorted((str(m.id), str(m.string), m.fuzzy, tuple(m.locations), tuple(m.user_comments))
                  for m in catalog if m.id)


def _render(catalog, **kwargs):
    buf = io.BytesIO()
    write_po(buf, catalog, width=0, include_lineno=False, ignore_obsolete=True, **kwargs)
    return buf.getvalue()


def _write_if_changed(path, catalog, check, changed, **kwargs):
    if path.exists():
        with path.open("rb") as fh:
            old = read_po(fh, locale=catalog.locale)
        if _content(old) == _content(catalog):
            return
    changed.append(path)
    if not check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_render(catalog, **kwargs))


def _merge(po_path, template, locale):
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    catalog.update(template, update_header_comment=False)
    catalog.project = "pucha"
    return catalog


def update(check=False):
    """Regenerate the .pot and merge it; return (changed paths, en msgids left untranslated)."""
    changed = []
    with tempfile.TemporaryDirectory() as tmp:
        template = extract(Path(tmp) / "messages.pot")
    _write_if_changed(POT, template, check, changed)

    en_path = TRANSLATIONS / "en/LC_MESSAGES/messages.po"
    en = _merge(en_path, template, "en")
    _write_if_changed(en_path, en, check, changed, omit_header=False)

    zh_template = Catalog(locale="zh")
    for text in sorted(fab_missing_zh()):
        zh_template.add(text)
    zh_path = TRANSLATIONS / "zh/LC_MESSAGES/messages.po"
    zh = _merge(zh_path, zh_template, "zh")
    for message in zh:
        message.locations = []
    _write_if_changed(zh_path, zh, check, changed)

    todo = {"en": [m.id for m in en if m.id and (not m.string or m.fuzzy)],
            "zh": [m.id for m in zh if m.id and (not m.string or m.fuzzy)]}
    return changed, todo


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if the catalogues are out of date or incomplete")
    args = parser.parse_args(argv)
    changed, todo = update(check=args.check)
    verb = "would update" if args.check else "updated"
    for path in changed:
        print(f"{verb} {path.relative_to(ROOT)}")
    for locale, ids in todo.items():
        for msgid in ids:
            print(f"{locale}: needs a translation: {msgid}")
    if not changed and not any(todo.values()):
        print("catalogues up to date")
    elif not args.check and any(todo.values()):
        print("fill in the empty (or fuzzy) msgstr entries, then: python -m app.i18n compile")
    return 1 if args.check and (changed or any(todo.values())) else 0


if __name__ == "__main__":
    sys.exit(main())
