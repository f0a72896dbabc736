"""The list model: what the main window (and ``python -m filler list``) shows for each form."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from app.forms.schema import URL
from filler.core.store import BrokenForm, FormStore, StoredForm
from filler.core.validation import check

EXPORT_STATE_TEXT = {"never": "未生成", "current": "已生成", "changed": "生成后又修改"}


@dataclass
class FormSummary:
    uuid: str
    name: str
    url: str
    updated_at: str
    valid: bool
    problem: str
    error_count: int
    export_state: str  # never / current / changed / broken
    exported_at: Optional[str]
    exported_to: Optional[str]
    broken: bool = False
    form_type: str = ""
    type_label: str = ""  # the form type's title, as on the 新建 menu

    @property
    def valid_text(self) -> str:
        if self.broken:
            return "文件损坏"
        return "通过" if self.valid else f"未通过（{self.error_count} 处）"

    @property
    def export_text(self) -> str:
        if self.broken:
            return ""
        text = EXPORT_STATE_TEXT[self.export_state]
        if self.exported_at and self.export_state != "never":
            text += f" {short_time(self.exported_at)}"
        return text

    def row(self) -> list:
        """The main window's table row: 网站名称, 首页网址, 最后修改, 校验, 生成文件, 表单类型."""
        return [self.name or "（未填写网站名称）", self.url, short_time(self.updated_at),
                self.valid_text, self.export_text, self.type_label]


# The type comes last: the columns before it keep their place for whoever reads them by position.
TABLE_HEADINGS = ["网站名称", "首页网址", "最后修改", "校验", "生成文件", "表单类型"]


def short_time(iso: Optional[str]) -> str:
    """'2015-03-01T22:09:46+08:00' → '2015-03-01 22:09' (local time, as written)."""
    if not iso:
        return ""
    return iso[:16].replace("T", " ")


def summarize(store: FormStore, item) -> FormSummary:
    if isinstance(item, BrokenForm):
        return FormSummary(uuid=item.path.stem, name=f"（无法读取：{item.path.name}）", url="",
                           updated_at="", valid=False, problem=item.message, error_count=1,
                           export_state="broken", exported_at=None, exported_to=None, broken=True)
    stored: StoredForm = item
    schema = store.schema_of(stored)
    report = check(schema, stored.document)
    fields = stored.document.get("fields") if isinstance(stored.document.get("fields"), dict) else {}
    # Name and address come from the form's own schema (its title field, its first URL field),
    # so every form type lists alike.
    name = schema.title(stored.document)
    url_field = next((f.name for f in schema.filler_fields() if f.kind == URL), None)
    url = fields.get(url_field, "") if url_field else ""
    return FormSummary(
        uuid=stored.uuid, name=name if isinstance(name, str) else "", url=url if isinstance(url, str) else "",
        updated_at=stored.updated_at, valid=report.ok, problem=report.summary(),
        error_count=len(report.errors), export_state=stored.export_state,
        exported_at=stored.exported_at, exported_to=stored.exported_to,
        form_type=schema.name, type_label=schema.label)


def list_forms(store: FormStore, form_type: Optional[str] = None) -> list:
    """Every form of the data folder (of one type, when given), the most recently changed first."""
    summaries = [summarize(store, item) for item in store.load_all(form_type)]
    summaries.sort(key=lambda s: (s.updated_at or ""), reverse=True)
    return summaries
