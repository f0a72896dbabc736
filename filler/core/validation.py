"""Validation for the filler: the schema's own rules (the server runs the same), arranged so the
editor can show each message at its field and the list can say valid or not."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from app.forms.schema import FieldError, FormSchema

_ROW_PATH_RE = re.compile(r"^(?P<table>[^.]+)\.(?P<group>[^.]+)\.(?P<slot>[^.\[]+)(?:\[(?P<index>\d+)\](?:\.(?P<column>.+))?)?$")


@dataclass
class Report:
    """Every problem of one document, plus lookups by field and by table row."""

    document: dict
    errors: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def for_field(self, name: str) -> list:
        path = f"fields.{name}"
        return [e for e in self.errors if e.path == path]

    def field_message(self, name: str) -> str:
        return "；".join(e.message for e in self.for_field(name))

    def for_slot(self, table: str, group: str, slot: str) -> list:
        """Errors about the slot as a whole (e.g. no rows), not about one row."""
        path = f"{table}.{group}.{slot}"
        return [e for e in self.errors if e.path == path]

    def for_row(self, table: str, group: str, slot: str, index: int) -> list:
        prefix = f"{table}.{group}.{slot}[{index}]"
        return [e for e in self.errors if e.path == prefix or e.path.startswith(prefix + ".")]

    def other(self) -> list:
        """Errors that belong to no visible field or row (structure, uuid)."""
        return [e for e in self.errors if not e.path.startswith("fields.") and not _ROW_PATH_RE.match(e.path)]

    def summary(self, limit: int = 3) -> str:
        if self.ok:
            return "校验通过"
        head = "；".join(e.message for e in self.errors[:limit])
        more = f"等 {len(self.errors)} 处问题" if len(self.errors) > limit else ""
        return head + (f"……{more}" if more else "")


def check(schema: FormSchema, document) -> Report:
    """Normalize then validate, exactly as the server does on import."""
    normalized = schema.normalize(document)
    return Report(document=normalized, errors=schema.validate(normalized))


def check_field(schema: FormSchema, name: str, value) -> tuple:
    """One field alone, as the user leaves it: ``(normalized value, message or "")``."""
    f = schema.field(name)
    normalized = f.normalize(value)
    problem = f.check(normalized)
    return normalized, (problem[1] if problem else "")


def parse_row_path(path: str) -> Optional[dict]:
    """``columns.info.news[2].address`` → {'table','group','slot','index','column'}."""
    match = _ROW_PATH_RE.match(path)
    if not match:
        return None
    out = match.groupdict()
    out["index"] = int(out["index"]) if out["index"] is not None else None
    return out
