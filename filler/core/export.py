"""生成文件: one or several VALID forms into one package zip, written with the shared
package implementation (app.forms.package) so the server reads exactly what the filler writes."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

from app.forms import package as package_format
from filler import __version__
from filler.core.store import FormStore, StoreError, now_iso
from filler.core.validation import check

# Client name written into every package's manifest (the server shows it in import results).
CLIENT_NAME = "pucha-filler"

ProgressCallback = Callable[[int, int, str], None]


class ExportError(Exception):
    """Nothing was written; ``message`` is Chinese."""


@dataclass
class Refused:
    uuid: str
    name: str
    reasons: list

    def text(self, limit: int = 0) -> str:
        """One line for the user; ``limit`` > 0 shows that many reasons and counts the rest."""
        reasons = self.reasons[:limit] if limit else self.reasons
        more = f"……共 {len(self.reasons)} 处问题" if limit and len(self.reasons) > limit else ""
        return f"{self.name or '（未填写网站名称）'}：" + "；".join(reasons) + more


@dataclass
class ExportResult:
    path: Optional[Path]
    exported: list = field(default_factory=list)  # UUIDs written into the package
    refused: list = field(default_factory=list)   # Refused, in the order asked
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.path is not None


def default_package_name(count: int, when: Optional[str] = None, schema=None) -> str:
    """``<the type's package folder>_3份_20150301-2209.zip``: the type, how many, when."""
    stamp = (when or now_iso())[:16].replace("-", "").replace(":", "").replace("T", "-")
    what = (schema.package_folder or schema.label) if schema is not None else "上报文件"
    return f"{what}_{count}份_{stamp}.zip"


def export_forms(store: FormStore, form_uuids: Iterable[str], out_path,
                 progress: Optional[ProgressCallback] = None,
                 form_type: Optional[str] = None) -> ExportResult:
    """Validate each form, write the valid ones into ``out_path``, list the others with why.

    A package holds one form type: ``form_type`` (forms of another type are refused), else the
    type of the forms given (ExportError when they are of several).

    ``progress(done, total, text)`` is called while checking and once more when writing, so a
    progress bar can move for hundreds of forms. Raises ExportError when no form is valid or
    the package cannot be written; forms are marked exported only after the zip is on disk.
    """
    started = time.perf_counter()
    form_uuids = list(dict.fromkeys(form_uuids))  # the same form twice would break the package
    if not form_uuids:
        raise ExportError("请先在列表中选择要生成文件的表单")
    total = len(form_uuids)
    result = ExportResult(path=None)
    documents = []
    in_store = {}
    seen = set()
    loaded = []
    for ref in form_uuids:
        try:
            # A path names a form file anywhere (the command line); a string is a UUID here.
            loaded.append((ref, store.load_known(ref) if isinstance(ref, Path) else store.load(ref)))
        except StoreError as exc:
            loaded.append((ref, exc))
    if form_type is not None:
        schema = store.schema_of(form_type)
    else:
        schema = _one_type(store, [stored for _ref, stored in loaded if not isinstance(stored, StoreError)])
    for done, (ref, stored) in enumerate(loaded, start=1):
        if isinstance(stored, StoreError):
            result.refused.append(Refused(str(ref), "", [str(stored)]))
        elif stored.form_type != schema.name:
            other = store.schema_of(stored)
            result.refused.append(Refused(stored.uuid, other.title(stored.document),
                                          [f"这份表单是“{other.label}”，不是“{schema.label}”"]))
        else:
            report = check(schema, stored.document)
            name = schema.title(report.document)
            if stored.uuid in seen:
                result.refused.append(Refused(stored.uuid, name, ["同一份表单（内部标识相同）已在本次生成的文件中"]))
            elif report.ok:
                seen.add(stored.uuid)
                documents.append(report.document)
                result.exported.append(stored.uuid)
                if not isinstance(ref, Path) or ref.resolve() == store.path_for(stored.uuid).resolve():
                    in_store[stored.uuid] = stored.revision
            else:
                result.refused.append(Refused(stored.uuid, name, [e.message for e in report.errors]))
        if progress:
            progress(done, total + 1, f"正在校验第 {done}/{total} 份表单")
    if not documents:
        raise ExportError("所选表单都未通过校验，没有生成文件：\n" + "\n".join(r.text() for r in result.refused))
    if progress:
        progress(total, total + 1, f"正在写入上报文件（{len(documents)} 份表单）")
    out_path = Path(out_path)
    try:
        package_format.pack(schema, documents, CLIENT_NAME, __version__, path=out_path)
    except package_format.PackageError as exc:
        raise ExportError(f"生成文件失败：{exc.message}") from exc
    except OSError as exc:
        raise ExportError(f"无法写入“{out_path}”：{exc.strerror or exc}。请换一个保存位置") from exc
    store.mark_exported(in_store, out_path)
    result.path = out_path
    result.seconds = time.perf_counter() - started
    if progress:
        progress(total + 1, total + 1, f"已生成 {out_path.name}")
    return result


def _one_type(store: FormStore, forms: list):
    """The schema of the forms to pack: a package holds forms of one type only."""
    counts = {}
    for stored in forms:
        counts[stored.form_type] = counts.get(stored.form_type, 0) + 1
    if len(counts) > 1:
        parts = "、".join(f"{store.schema_of(name).label}（{n} 份）" for name, n in counts.items())
        raise ExportError(f"所选表单属于不同的表：{parts}。一个上报文件只能包含一种表，"
                          f"请只选择同一种表的表单，分别生成文件")
    return store.schema_of(next(iter(counts))) if counts else store.schema


def read_package_forms(path, schemas):
    """Check a package file as the server will: integrity, then every form with the schema of the
    package's form type (``schemas``: one schema, or several by name as a store has them).
    Returns the list of ``FormResult`` (raises ``PackageError`` for a whole-package problem)."""
    if isinstance(schemas, dict):
        package = package_format.read_package(path)
        schema = schemas.get(package.form_type)
        if schema is None:
            raise package_format.PackageError(
                f"上报文件的表单类型“{package.form_type}”不在本客户端中，可以校验的表单类型："
                + "、".join(s.label for s in schemas.values()), "form_type")
    else:
        schema = schemas
        package = package_format.read_package(path, expected_form_type=schema.name)
    return package_format.validate_forms(package, schema)
