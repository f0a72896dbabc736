"""The form store: one JSON file per form in a data folder that can be copied to another computer.

Layout of the data folder (FAQ §14: copy the whole folder, open it on the other computer)::

    <data folder>/
      说明.txt                 what this folder is, in Chinese, for whoever finds it
      forms/<uuid>.json       one file per form (see ``StoredForm``)
      recycle/<uuid>-<time>.json   deleted forms, kept until someone empties the folder by hand
      exports.json            which forms went into which package, and when (one file, so that
                              生成文件 of 500 forms is one write, not 500)

A form file wraps the document (exactly what goes into a package) with the filler's own
bookkeeping (when created and changed, a revision counter). Nothing in a form file depends on this computer:
no absolute paths are needed to open it, so a copied folder works anywhere.

One folder holds the forms of every form type: each file names its type (``form_type``, written
since the first version), so a data folder of an older, one-type filler opens as it is, with no
migration, and a form restored from recycle/ needs only to be moved back. A file without a type (a
bare document copied in by hand) belongs to the store's default type; a file of a type this
filler does not know (its plugin is not installed) is listed as unreadable, never dropped.
"""
from __future__ import annotations

import copy
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Optional

from app.forms.schema import FormSchema, is_valid_uuid4, new_uuid
from filler.core.atomic import atomic_write_json, read_json

FILE_FORMAT = "pucha-filler-form"
FILE_FORMAT_VERSION = 1
FORMS_DIR = "forms"
RECYCLE_DIR = "recycle"
README_NAME = "说明.txt"
EXPORTS_NAME = "exports.json"
EXPORTS_FORMAT = "pucha-filler-exports"

README_TEXT = """这是“政府网站普查填报客户端”的数据文件夹。

forms 文件夹中每个文件是一份表单（文件中写明它是哪一种表），文件名是表单的内部标识。
recycle 文件夹中是已删除的表单，确认不再需要后可以手工删除。

在另一台电脑上查看或继续填写：把整个文件夹复制到那台电脑，打开填报客户端，
点击“数据目录”，选择复制过去的文件夹即可。
请不要手工修改 forms 中的文件，否则表单可能无法打开或上报文件无法导入。
"""


class StoreError(Exception):
    """A problem the user must read (Chinese message)."""


def now_iso() -> str:
    # Microseconds keep "newest first" stable when several forms are saved within a second.
    return datetime.now().astimezone().isoformat(timespec="microseconds")


@dataclass
class StoredForm:
    """A form as kept on disk: the document plus the filler's bookkeeping."""

    document: dict
    created_at: str = ""
    updated_at: str = ""
    # Incremented on every save; ``exported_revision`` remembers which revision went into the
    # last package, so the list can say "changed since it was exported".
    revision: int = 0
    exported_at: Optional[str] = None
    exported_to: Optional[str] = None
    exported_revision: Optional[int] = None
    copied_from: Optional[str] = None
    # "excel" for a form that an Excel import made: a later sheet row without 内部标识 but with
    # the same website (首页网址) updates it instead of being refused as a second form.
    origin: Optional[str] = None
    form_type: str = ""
    schema_version: int = 0

    @property
    def uuid(self) -> str:
        return self.document.get("uuid", "")

    @property
    def export_state(self) -> str:
        """'never', 'current' (exported, unchanged since) or 'changed'."""
        if not self.exported_at:
            return "never"
        return "current" if self.exported_revision == self.revision else "changed"

    def to_file(self) -> dict:
        return {
            "format": FILE_FORMAT,
            "format_version": FILE_FORMAT_VERSION,
            "form_type": self.form_type,
            "schema_version": self.schema_version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "revision": self.revision,
            "copied_from": self.copied_from,
            "origin": self.origin,
            "document": self.document,
        }

    @classmethod
    def from_file(cls, raw) -> "StoredForm":
        if not isinstance(raw, dict):
            raise StoreError("文件内容不是表单")
        if raw.get("format") != FILE_FORMAT:
            # A bare document (e.g. taken out of a package) is accepted as a form too.
            if isinstance(raw.get("fields"), dict) and "uuid" in raw:
                return cls(document=raw)
            raise StoreError("文件不是填报客户端保存的表单")
        document = raw.get("document")
        if not isinstance(document, dict):
            raise StoreError("表单文件缺少表单内容")

        def text(name):
            value = raw.get(name)
            return value if isinstance(value, str) else None

        def number(name):
            value = raw.get(name)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        return cls(
            document=document,
            created_at=text("created_at") or "",
            updated_at=text("updated_at") or "",
            revision=number("revision") or 0,
            copied_from=text("copied_from"),
            origin=text("origin"),
            form_type=text("form_type") or "",
            schema_version=number("schema_version") or 0,
        )


@dataclass
class BrokenForm:
    """A file in forms/ that could not be read; listed so that nothing disappears silently."""

    path: Path
    message: str


class FormStore:
    """All forms of one data folder, of every form type given.

    ``schemas`` is one ``FormSchema`` or several (catalogue order); the first is ``schema``, the
    default type: of a new form when none is named, and of a file that names no type.
    """

    def __init__(self, root, schemas):
        self.root = Path(root).expanduser()
        if isinstance(schemas, FormSchema):
            schemas = [schemas]
        self.schemas = {s.name: s for s in schemas}
        if not self.schemas:
            raise StoreError("没有可以填写的表单类型")
        self.schema = next(iter(self.schemas.values()))
        # (signature of exports.json, its records) as last read: see ``_export_records_now``.
        self._exports_seen = None

    def schema_of(self, form) -> FormSchema:
        """The schema of a form (a ``StoredForm`` or a form type name)."""
        name = form.form_type if isinstance(form, StoredForm) else form
        schema = self.schemas.get(name or self.schema.name)
        if schema is None:
            raise StoreError(self._unknown(name))
        return schema

    @staticmethod
    def _unknown(name) -> str:
        return f"表单类型“{name}”不在本客户端中，可能需要安装它的插件或更新填报客户端"

    def with_root(self, root) -> "FormStore":
        """Another data folder with the same form types."""
        return FormStore(root, list(self.schemas.values()))

    # -- folders ------------------------------------------------------------------------------

    @property
    def forms_dir(self) -> Path:
        return self.root / FORMS_DIR

    @property
    def recycle_dir(self) -> Path:
        return self.root / RECYCLE_DIR

    def ensure(self) -> "FormStore":
        """Create the folder layout; a clear Chinese error when the place is not writable."""
        try:
            self.forms_dir.mkdir(parents=True, exist_ok=True)
            self.recycle_dir.mkdir(parents=True, exist_ok=True)
            readme = self.root / README_NAME
            if not readme.exists():
                # Windows Notepad of the XP/7 era needs the BOM to read UTF-8.
                readme.write_text(README_TEXT, encoding="utf-8-sig")
        except OSError as exc:
            raise StoreError(
                f"无法使用数据目录“{self.root}”：{exc.strerror or exc}。"
                f"请点击“数据目录”换一个有写入权限的文件夹（如“文档”或 D 盘下的文件夹）") from exc
        return self

    def path_for(self, form_uuid: str) -> Path:
        if not is_valid_uuid4(form_uuid):
            raise StoreError(f"表单内部标识不正确：{form_uuid!r}")
        return self.forms_dir / f"{form_uuid}.json"

    # -- reading ------------------------------------------------------------------------------

    def uuids(self) -> list:
        if not self.forms_dir.is_dir():
            return []
        return sorted(p.stem for p in self.forms_dir.glob("*.json") if is_valid_uuid4(p.stem))

    def uuids_of(self, form_type: str) -> list:
        """The forms of one type (each file is read: the type is written inside it)."""
        return [item.uuid for item in self.load_all(form_type) if isinstance(item, StoredForm)]

    def exists(self, form_uuid: str) -> bool:
        return self.path_for(form_uuid).exists()

    @property
    def exports_path(self) -> Path:
        return self.root / EXPORTS_NAME

    def export_records(self) -> dict:
        """uuid → {"at", "to", "revision"} of each form's last 生成文件, read from disk now
        (a new dict, the caller's to change)."""
        try:
            raw = read_json(self.exports_path)
        except (OSError, ValueError):
            return {}  # missing or damaged: only the "exported" column is lost, never a form
        forms = raw.get("forms") if isinstance(raw, dict) else None
        return forms if isinstance(forms, dict) else {}

    def _export_records_now(self) -> dict:
        """The export records for showing a form's export state, read again only when
        exports.json has changed since the last read. Not to be changed by the caller.

        Loading each of 2,000 forms must not read the one record file of all 2,000 again (that
        made packing again quadratic). Another filler window or the command line may write the
        file at any time, so a cheap ``stat`` decides: every write replaces the file by a new
        one (atomic_write_json), which gives it a new inode (where the file system has them) as
        well as a new mtime and ctime, so a changed file is seen even where the clock is coarse. The stat comes before the
        read: a file replaced in between is read new under the old signature and read again
        next time, never the other way round."""
        try:
            info = os.stat(self.exports_path)
        except OSError:
            self._exports_seen = None
            return {}  # no file yet: nothing exported
        signature = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        seen = self._exports_seen
        if seen is None or seen[0] != signature:
            seen = self._exports_seen = (signature, self.export_records())
        return seen[1]

    def _apply_export(self, stored: StoredForm, records: dict) -> StoredForm:
        record = records.get(stored.uuid)
        if isinstance(record, dict):
            stored.exported_at = record.get("at") if isinstance(record.get("at"), str) else None
            stored.exported_to = record.get("to") if isinstance(record.get("to"), str) else None
            revision = record.get("revision")
            stored.exported_revision = revision if isinstance(revision, int) else None
        return stored

    def load(self, form_uuid: str) -> StoredForm:
        return self._apply_export(self.load_known(self.path_for(form_uuid)), self._export_records_now())

    def load_path(self, path) -> StoredForm:
        path = Path(path)
        try:
            raw = read_json(path)
        except FileNotFoundError as exc:
            raise StoreError(f"找不到表单文件“{path.name}”，它可能已被删除或移走") from exc
        except (OSError, ValueError) as exc:
            raise StoreError(f"表单文件“{path.name}”已损坏，无法读取（{exc}）") from exc
        try:
            stored = StoredForm.from_file(raw)
        except StoreError as exc:
            raise StoreError(f"表单文件“{path.name}”无法读取：{exc}") from exc
        stored.form_type = stored.form_type or self.schema.name
        return stored

    def load_known(self, path) -> StoredForm:
        """``load_path``, refusing a form whose type this filler does not know."""
        stored = self.load_path(path)
        try:
            self.schema_of(stored)
        except StoreError as exc:
            raise StoreError(f"表单文件“{Path(path).name}”无法打开：{exc}") from exc
        return stored

    def load_all(self, form_type: Optional[str] = None):
        """Yield ``StoredForm`` or ``BrokenForm`` for every file in forms/; with ``form_type``,
        the forms of that type and the files that cannot be read at all (their type is unknown)."""
        records = self._export_records_now()
        for form_uuid in self.uuids():
            path = self.path_for(form_uuid)
            try:
                stored = self.load_path(path)
            except StoreError as exc:
                yield BrokenForm(path, str(exc))
                continue
            if form_type is not None:
                if stored.form_type != form_type:
                    continue
            elif stored.form_type not in self.schemas:
                yield BrokenForm(path, f"表单文件“{path.name}”无法打开：{self._unknown(stored.form_type)}")
                continue
            if stored.uuid != form_uuid:
                yield BrokenForm(path, f"表单文件“{path.name}”中的内部标识与文件名不一致，文件可能被手工修改过")
                continue
            yield self._apply_export(stored, records)

    def find(self, ref: str) -> str:
        """A form's UUID from its UUID, a unique UUID prefix (≥ 4 characters) or its file path."""
        ref = ref.strip()
        candidate = Path(ref)
        if candidate.suffix == ".json" and candidate.exists():
            return self.load_path(candidate).uuid
        ref = ref.lower()
        if is_valid_uuid4(ref):
            if not self.exists(ref):
                raise StoreError(f"数据目录中没有内部标识为 {ref} 的表单")
            return ref
        if len(ref) >= 4 and re.fullmatch(r"[0-9a-f-]+", ref):
            matches = [u for u in self.uuids() if u.startswith(ref)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise StoreError(f"“{ref}”对应多份表单，请写出更长的内部标识")
        raise StoreError(f"找不到表单“{ref}”（请写内部标识或表单文件路径）")

    # -- writing ------------------------------------------------------------------------------

    def new(self, form_type: Optional[str] = None) -> StoredForm:
        """A new, empty form (of the default type unless named) with a fresh UUID. Not written
        until it is saved."""
        schema = self.schema_of(form_type)
        now = now_iso()
        return StoredForm(document=schema.new_document(), created_at=now, updated_at=now,
                          form_type=schema.name, schema_version=schema.version)

    def save(self, stored: StoredForm) -> StoredForm:
        """Write the form atomically, valid or not. Returns the same object, updated."""
        if not is_valid_uuid4(stored.uuid):
            raise StoreError("表单缺少有效的内部标识，无法保存")
        schema = self.schema_of(stored)
        self.ensure()
        stored.revision += 1
        stored.updated_at = now_iso()
        stored.created_at = stored.created_at or stored.updated_at
        stored.form_type = schema.name
        stored.schema_version = schema.version
        try:
            atomic_write_json(self.path_for(stored.uuid), stored.to_file())
        except OSError as exc:
            stored.revision -= 1
            raise StoreError(
                f"保存失败：{exc.strerror or exc}（{self.root}）。"
                f"可点击“数据目录”改用其他文件夹后再保存") from exc
        return stored

    def add_document(self, document: dict, copied_from: Optional[str] = None,
                     origin: Optional[str] = None, form_type: Optional[str] = None) -> StoredForm:
        """Store a document made elsewhere (Excel import, a form file from another folder) as a
        form of ``form_type`` (default: the store's default type)."""
        now = now_iso()
        stored = StoredForm(document=copy.deepcopy(document), created_at=now, copied_from=copied_from,
                            origin=origin, form_type=self.schema_of(form_type).name)
        if self.exists(stored.uuid):
            raise StoreError(f"数据目录中已有内部标识为 {stored.uuid} 的表单")
        return self.save(stored)

    def copy_as_new(self, form_uuid: str) -> StoredForm:
        """Same content under a NEW UUID: a second website must never reuse a form's identity
        (FAQ §18: the server overwrites by UUID)."""
        original = self.load(form_uuid)
        document = copy.deepcopy(original.document)
        document["uuid"] = new_uuid()
        return self.add_document(document, copied_from=form_uuid, form_type=original.form_type)

    def delete(self, form_uuid: str) -> Path:
        """Move the form to recycle/ (never destroyed by the program)."""
        source = self.path_for(form_uuid)
        if not source.exists():
            raise StoreError("要删除的表单不存在，可能已被删除")
        self.recycle_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = self.recycle_dir / f"{form_uuid}-{stamp}.json"
        shutil.move(str(source), str(target))
        return target

    def recycled(self) -> list:
        if not self.recycle_dir.is_dir():
            return []
        return sorted(self.recycle_dir.glob("*.json"))

    def restore(self, recycled_path) -> StoredForm:
        """Put a deleted form back (its UUID unchanged, so the server still recognises it)."""
        recycled_path = Path(recycled_path)
        stored = self.load_path(recycled_path)
        target = self.path_for(stored.uuid)
        if target.exists():
            raise StoreError("数据目录中已有同一份表单，无法恢复")
        os.replace(recycled_path, target)
        return stored

    def mark_exported(self, revisions: dict, package_path, when: Optional[str] = None) -> None:
        """Record that these forms (uuid → the revision that was packed) went into
        ``package_path``: one atomic write of exports.json, the forms themselves untouched.

        The records are read from disk here, not taken from what loading the forms saw: what
        another window wrote since then must be kept, not overwritten."""
        when = when or now_iso()
        records = self.export_records()
        for form_uuid, revision in revisions.items():
            records[form_uuid] = {"at": when, "to": str(package_path), "revision": revision}
        atomic_write_json(self.exports_path, {"format": EXPORTS_FORMAT, "format_version": 1, "forms": records})
        self._exports_seen = None  # read once more at the next load, under the new file's signature
