"""The headless command line: the same operations as the window, for scripts and servers.

    python -m filler                          start the window
    python -m filler --version
    python -m filler list-types               the form types this filler can fill
    python -m filler validate FILE_OR_DIR     a form file, a data folder or a package .zip
    python -m filler pack [--type T] --out X.zip [FORM...]   FORM: internal id (or its first characters) or a form file
    python -m filler import-excel [--type T] [--only-valid] FILE.xlsx
    python -m filler excel-template [--type T] OUT.xlsx
    python -m filler export-excel [--type T] OUT.xlsx [FORM...]
    python -m filler list [--type T]
    python -m filler data-dir [DIR]

``--type`` names a form type (its name or its title, see list-types); without it a command means
the first type of the catalogue (the only one, usually), or, where it reads a file, the type the
file is of.

Exit codes: 0 all went well; 1 something was refused or invalid (details printed); 2 nothing was
done (bad arguments, unreadable input). Nothing here imports a GUI toolkit, so it runs on a
machine without a display.
"""
from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

from filler import APP_NAME, __version__

OK, REFUSED, FAILED = 0, 1, 2


class CommandError(Exception):
    """Nothing was done: the message says why (printed, exit code 2)."""


@functools.cache
def _catalog():
    """The catalogue, its problems printed once."""
    from filler.core.catalog import catalog

    found = catalog()
    for problem in found.problems:
        print(problem, file=sys.stderr)
    return found


def _schema(args=None):
    """The form type the command means (``--type``, else the catalogue's first)."""
    from filler.core.catalog import CatalogError

    try:
        return _catalog().get(getattr(args, "form_type", None))
    except CatalogError as exc:
        raise CommandError(str(exc)) from exc


def _add_type(parser, what: str) -> None:
    parser.add_argument("--type", dest="form_type", metavar="表单类型",
                        help=f"表单类型（名称或标题，见 list-types）；不写则为{what}")


def _console_safe() -> None:
    # A Chinese Windows console is GBK: never let one unprintable character abort a command.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError):
            pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m filler",
        description=f"{APP_NAME}：不带参数运行时打开窗口；以下命令无需窗口。")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--data-dir", help="本次使用的数据目录（不改变设置）")
    parser.add_argument("--settings", help="设置文件路径（默认在用户目录下）")
    sub = parser.add_subparsers(dest="command", metavar="命令")

    sub.add_parser("list-types", help="列出本客户端可以填写的表单类型")

    p = sub.add_parser("validate", help="校验表单文件、数据目录或上报文件（.zip）")
    p.add_argument("path", help="表单文件（.json）、数据目录或上报文件（.zip）")

    p = sub.add_parser("pack", help="把通过校验的表单生成一个上报文件（.zip）")
    p.add_argument("--out", required=True, help="上报文件保存路径，如 基本信息表.zip")
    p.add_argument("forms", nargs="*", help="表单内部标识（可只写前几位）或表单文件；不写则为数据目录中这种表的全部表单")
    _add_type(p, "所写表单的类型，不写表单时为第一种表单类型")

    p = sub.add_parser("import-excel", help="从填好的 Excel 表格导入表单（再次导入同一表格会更新上次导入的表单）")
    p.add_argument("file", help="填好的 .xlsx 文件")
    p.add_argument("--only-valid", action="store_true",
                   help="只导入正确的行：有问题的网站不导入并逐行列出，其余照常导入（默认有任何问题就都不导入）")
    _add_type(p, "表格的表头所对应的表单类型")

    p = sub.add_parser("export-excel", help="把表单导出为 Excel 表格（带内部标识），修改后可用 import-excel 更新")
    p.add_argument("out", help="保存路径，如 基本信息表.xlsx")
    p.add_argument("forms", nargs="*", help="表单内部标识（可只写前几位）；不写则为数据目录中这种表的全部表单")
    _add_type(p, "所写表单的类型，不写表单时为第一种表单类型")

    p = sub.add_parser("excel-template", help="生成 Excel 批量填写模板")
    p.add_argument("out", help="模板保存路径，如 批量填写模板.xlsx")
    _add_type(p, "第一种表单类型")

    p = sub.add_parser("list", help="列出数据目录中的表单")
    _add_type(p, "全部表单类型")

    p = sub.add_parser("data-dir", help="显示或更改数据目录")
    p.add_argument("dir", nargs="?", help="新的数据目录")
    return parser


def _settings(args):
    from filler.core.settings import Settings

    return Settings.load(args.settings)


def _store(args):
    from filler.core.store import FormStore

    settings = _settings(args)
    root = Path(args.data_dir).expanduser() if args.data_dir else settings.data_path
    found = _catalog()
    if not len(found):
        _schema(args)  # raises, saying why there is nothing to fill
    return FormStore(root, found.schemas)


def cmd_list_types(args) -> int:
    found = _catalog()
    for schema in found:
        print(f"{schema.name}  {schema.label}（第 {schema.version} 版）")
    if not len(found):
        print("本客户端中没有可以填写的表单类型", file=sys.stderr)
        return FAILED
    return REFUSED if found.problems else OK


def cmd_validate(args) -> int:
    from app.forms.package import PackageError
    from filler.core.export import read_package_forms
    from filler.core.store import StoreError
    from filler.core.validation import check

    path = Path(args.path)
    if not path.exists():
        print(f"找不到“{path}”", file=sys.stderr)
        return FAILED
    store = _store(args)
    results = []  # (name, uuid, [messages])
    if path.is_file() and path.suffix.lower() == ".zip":
        try:
            for form in read_package_forms(path, store.schemas):
                results.append((form.title, form.uuid, [e.message for e in form.errors]))
        except PackageError as exc:
            print(f"上报文件无法导入：{exc.message}")
            return REFUSED
    else:
        if path.is_dir():
            forms_dir = path / "forms" if (path / "forms").is_dir() else path
            files = sorted(forms_dir.glob("*.json"))
            if not files:
                print(f"“{path}”中没有表单文件", file=sys.stderr)
                return FAILED
        else:
            files = [path]
        store = store.with_root(path if path.is_dir() else path.parent)
        for file in files:
            try:
                stored = store.load_known(file)
            except StoreError as exc:
                results.append((file.name, "", [str(exc)]))
                continue
            schema = store.schema_of(stored)
            report = check(schema, stored.document)
            results.append((schema.title(report.document), stored.uuid, [e.message for e in report.errors]))
    bad = 0
    for name, form_uuid, messages in results:
        label = f"{name or '（未填写网站名称）'}（{form_uuid or '无内部标识'}）"
        if messages:
            bad += 1
            print(f"[未通过] {label}")
            for message in messages:
                print(f"    - {message}")
        else:
            print(f"[通过]   {label}")
    print(f"共 {len(results)} 份表单：{len(results) - bad} 份通过，{bad} 份未通过")
    return REFUSED if bad else OK


def cmd_pack(args) -> int:
    from filler.core.export import ExportError, export_forms
    from filler.core.store import StoreError

    store = _store(args)
    refs = []
    for item in args.forms:
        candidate = Path(item)
        if candidate.suffix.lower() == ".json" and candidate.is_file():
            refs.append(candidate)
            continue
        try:
            refs.append(store.find(item))
        except StoreError as exc:
            print(str(exc), file=sys.stderr)
            return FAILED
    if not args.forms:
        schema = _schema(args)
        refs = store.uuids_of(schema.name)
        if not refs:
            print(f"数据目录“{store.root}”中没有“{schema.label}”", file=sys.stderr)
            return FAILED

    def progress(done, total, text):
        if total >= 50 and (done % 100 == 0 or done == total):
            print(f"  {text}", file=sys.stderr)

    try:
        result = export_forms(store, refs, Path(args.out), progress=progress,
                              form_type=_schema(args).name if args.form_type else None)
    except ExportError as exc:
        print(str(exc), file=sys.stderr)
        return FAILED
    print(f"已生成 {result.path}：{len(result.exported)} 份表单（用时 {result.seconds:.2f} 秒）")
    if result.refused:
        print(f"以下 {len(result.refused)} 份表单未通过校验，未包含在文件中：")
        for refused in result.refused:
            print(f"  - {refused.text(limit=5)}")
        return REFUSED
    return OK


def cmd_import_excel(args) -> int:
    from filler.core.excel import ExcelError, import_workbook

    store = _store(args)
    try:
        result = import_workbook(store, Path(args.file), only_valid=args.only_valid,
                                 form_type=args.form_type and _schema(args).name)
    except ExcelError as exc:
        print(str(exc), file=sys.stderr)
        return FAILED
    imported = bool(result.created or result.updated or result.unchanged)
    if result.errors:
        print(result.report(imported=imported))
        return REFUSED
    print(f"已导入 {len(result.sites)} 个网站到“{store.root}”（{result.summary()}）")
    return OK


def cmd_export_excel(args) -> int:
    from filler.core.excel import ExcelError, export_workbook
    from filler.core.store import StoreError

    store = _store(args)
    try:
        uuids = [store.find(item) for item in args.forms] or None
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return FAILED
    form_type = _schema(args).name if args.form_type or not uuids else None
    try:
        path, written, broken = export_workbook(store, Path(args.out), uuids, form_type=form_type)
    except (ExcelError, StoreError) as exc:
        print(str(exc), file=sys.stderr)
        return FAILED
    except OSError as exc:
        print(f"无法保存 Excel 表格：{exc.strerror or exc}", file=sys.stderr)
        return FAILED
    print(f"已导出 {written} 份表单到 {path}")
    for item in broken:
        print(f"  未导出：{item.message}")
    return REFUSED if broken else OK


def cmd_excel_template(args) -> int:
    from filler.core.excel import write_template

    path = write_template(_schema(args), Path(args.out))
    print(f"已生成 Excel 模板：{path}")
    return OK


def cmd_list(args) -> int:
    from filler.core.listing import list_forms

    store = _store(args)
    form_type = _schema(args).name if args.form_type else None
    forms = list_forms(store, form_type)
    print(f"数据目录：{store.root}（{len(forms)} 份表单）")
    for s in forms:
        print(f"{s.uuid[:8]}  {s.row()[0]}  {s.url}  {s.row()[2]}  {s.valid_text}  {s.export_text}  {s.type_label}")
    return OK


def cmd_data_dir(args) -> int:
    from filler.core.store import StoreError

    settings = _settings(args)
    if args.dir:
        try:
            _store(args).with_root(Path(args.dir).expanduser().resolve()).ensure()
        except StoreError as exc:
            print(str(exc), file=sys.stderr)
            return FAILED
        settings.data_dir = str(Path(args.dir).expanduser().resolve())
        settings.save()
    print(settings.data_path)
    return OK


COMMANDS = {
    "list-types": cmd_list_types,
    "validate": cmd_validate,
    "pack": cmd_pack,
    "import-excel": cmd_import_excel,
    "excel-template": cmd_excel_template,
    "export-excel": cmd_export_excel,
    "list": cmd_list,
    "data-dir": cmd_data_dir,
}


def main(argv=None) -> int:
    _console_safe()
    args = build_parser().parse_args(argv)
    if args.command is None:
        # Only here is the GUI imported: every other command must work without a display.
        try:
            from filler.gui.app import run
        except ImportError as exc:
            print(f"无法打开窗口：缺少图形界面组件（{exc}）。命令行用法见 python -m filler --help", file=sys.stderr)
            return FAILED
        try:
            return run(settings_path=args.settings, data_dir=args.data_dir)
        except Exception as exc:
            # Tk without a display raises TclError: say so plainly instead of a traceback.
            if type(exc).__name__ == "TclError":
                print(f"无法打开窗口（{exc}）。没有图形界面时请使用命令行，见 python -m filler --help", file=sys.stderr)
                return FAILED
            raise
    try:
        return COMMANDS[args.command](args)
    except CommandError as exc:
        print(str(exc), file=sys.stderr)
        return FAILED
