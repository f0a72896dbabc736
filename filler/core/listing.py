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
        """The main window's table row: 网站名称, 首页网址, 最后修改, 校验, 生成文件."""
        return [self.name or "（未填写网站名称）", self.url, short_time(self.updated_at),
                self.valid_text, self.export_text]


TABLE_HEADINGS = ["网站名称", "首页网址", "最后修改", "校验", "生成文件"]


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
    report = check(store.schema, stored.document)
    fields = stored.document.get("fields") if isinstance(stored.document.get("fields"), dict) else {}
    # Name and address come from the schema (its title field, its first URL field), so another
    # form type lists just as well.
    name = store.schema.title(stored.document)
    url_field = next((f.name for f in store.schema.filler_fields() if f.kind == URL), None)
    url = fields.get(url_field, "") if url_field else ""
    return FormSummary(
        uuid=stored.uuid, name=name if isinstance(name, str) else "", url=url if isinstance(url, str) else "",
        updated_at=stored.updated_at, valid=report.ok, problem=report.summary(),
        error_count=len(report.errors), export_state=stored.export_state,
        exported_at=stored.exported_at, exported_to=stored.exported_to)


def list_forms(store: FormStore) -> list:
    """Every form of the data folder, the most recently changed first."""
    summaries = [summarize(store, item) for item in store.load_all()]
    summaries.sort(key=lambda s: (s.updated_at or ""), reverse=True)
    return summaries
