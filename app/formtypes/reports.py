"""The report of an import: what became of every package and every form in it, bounded.

One set of words for the web page, the API and the CLI (``OUTCOME_LABELS``), and a report whose
size does not grow with what a package holds: titles and messages are cut, and only so many
errors and warnings are listed per form and per upload; the rest are counted.
"""
from dataclasses import dataclass, field
from typing import Optional

from app.i18n_text import N_, gettext

IMPORTED, UPDATED, REFUSED = "imported", "updated", "refused"
OUTCOME_LABELS = {IMPORTED: N_("新导入"), UPDATED: N_("已覆盖更新"), REFUSED: N_("已拒绝")}

# The import report (web page, API, CLI, and basic_info_package.result) must not grow with what
# a package holds: titles and messages are cut to these lengths, and only so many errors are
# listed per form and per upload; the rest are counted ("另有 N 条错误未列出").
REPORT_TITLE_CHARS = 60
REPORT_MESSAGE_CHARS = 200
REPORT_ERRORS_PER_FORM = 10
REPORT_ERRORS_PER_UPLOAD = 200
# Warnings (the form was imported, but a unit should look at it: the same website reported twice,
# a website of another province) are bounded the same way, in their own budget.
REPORT_WARNINGS_PER_FORM = 10
REPORT_WARNINGS_PER_UPLOAD = 200


def outcome_labels():
    """{outcome: its label in the current language}."""
    return {outcome: gettext(label) for outcome, label in OUTCOME_LABELS.items()}


def _cut(text, limit):
    text = str(text or "")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def omitted_note(count):
    """The line that stands for errors left out of a report, or "" when none were."""
    return gettext("另有 %(count)s 条错误未列出", count=count) if count else ""


def warnings_omitted_note(count):
    """The line that stands for warnings left out of a report, or "" when none were."""
    return gettext("另有 %(count)s 条提醒未列出", count=count) if count else ""


def _cut_entries(entries, room):
    return [{"path": _cut(e["path"], REPORT_MESSAGE_CHARS),
             "label": _cut(e["label"], REPORT_TITLE_CHARS),
             "message": _cut(e["message"], REPORT_MESSAGE_CHARS)} for e in entries[:room]]


@dataclass
class FormOutcome:
    uuid: str
    title: str
    outcome: str  # imported / updated / refused
    errors: list = field(default_factory=list)  # [{path, label, message}], bounded
    form_id: Optional[int] = None
    errors_omitted: int = 0  # errors of this form not listed in ``errors``
    warnings: list = field(default_factory=list)  # [{path, label, message}], bounded
    warnings_omitted: int = 0

    def __post_init__(self):
        self.title = _cut(self.title, REPORT_TITLE_CHARS)

    @property
    def outcome_label(self):
        label = OUTCOME_LABELS.get(self.outcome)
        return gettext(label) if label else self.outcome

    def to_dict(self, labels=None):
        """The form's entry of the report; ``labels`` ({outcome: label}, see ``outcome_labels``)
        saves translating the same three words once per form."""
        label = labels.get(self.outcome) if labels is not None else None
        out = {"uuid": self.uuid, "title": self.title, "outcome": self.outcome,
               "outcome_label": label or self.outcome_label, "form_id": self.form_id,
               "errors": list(self.errors), "errors_omitted": self.errors_omitted,
               "errors_omitted_note": omitted_note(self.errors_omitted)}
        if self.outcome != REFUSED:
            # Only a form that was written has warnings; a refused one keeps the report as small
            # as before (tests/test_basic_info_upload_cost.py).
            out.update(warnings=list(self.warnings), warnings_omitted=self.warnings_omitted,
                       warnings_omitted_note=warnings_omitted_note(self.warnings_omitted))
        return out


@dataclass
class PackageReport:
    filename: str
    package_id: Optional[int] = None
    sha256: str = ""
    error: Optional[str] = None  # the whole package was refused with this message
    error_code: Optional[str] = None
    forms: list = field(default_factory=list)

    def count(self, outcome):
        return sum(1 for f in self.forms if f.outcome == outcome)

    @property
    def imported(self):
        return self.count(IMPORTED)

    @property
    def updated(self):
        return self.count(UPDATED)

    @property
    def refused(self):
        return self.count(REFUSED)

    @property
    def ok(self):
        return self.error is None and self.refused == 0

    def to_dict(self):
        labels = outcome_labels()
        return {"filename": self.filename, "package_id": self.package_id, "sha256": self.sha256,
                "error": self.error, "error_code": self.error_code,
                "imported": self.imported, "updated": self.updated, "refused": self.refused,
                "forms": [f.to_dict(labels) for f in self.forms]}


@dataclass
class ImportReport:
    packages: list = field(default_factory=list)
    # Error lines still to be listed in this report (REPORT_ERRORS_PER_UPLOAD at the start).
    error_room: int = REPORT_ERRORS_PER_UPLOAD
    warning_room: int = REPORT_WARNINGS_PER_UPLOAD

    def set_errors(self, outcome, errors):
        """Give ``outcome`` the first of ``errors`` the report has room for, cut to length, and
        count the rest."""
        room = max(0, min(REPORT_ERRORS_PER_FORM, self.error_room))
        outcome.errors = _cut_entries(errors, room)
        outcome.errors_omitted = len(errors) - len(outcome.errors)
        self.error_room -= len(outcome.errors)

    def set_warnings(self, outcome, warnings):
        """Like ``set_errors``, for the warnings of a form that was imported."""
        room = max(0, min(REPORT_WARNINGS_PER_FORM, self.warning_room))
        outcome.warnings = _cut_entries(warnings, room)
        outcome.warnings_omitted = len(warnings) - len(outcome.warnings)
        self.warning_room -= len(outcome.warnings)

    @property
    def warnings(self):
        """How many warnings the report holds, listed or not."""
        return sum(len(f.warnings) + f.warnings_omitted for f in self.forms)

    @property
    def errors_omitted(self):
        return sum(f.errors_omitted for f in self.forms)

    @property
    def imported(self):
        return sum(p.imported for p in self.packages)

    @property
    def updated(self):
        return sum(p.updated for p in self.packages)

    @property
    def refused(self):
        return sum(p.refused for p in self.packages)

    @property
    def refused_packages(self):
        return sum(1 for p in self.packages if p.error)

    @property
    def ok(self):
        """True when nothing was refused (no package, no form)."""
        return all(p.ok for p in self.packages)

    @property
    def forms(self):
        return [f for p in self.packages for f in p.forms]

    def summary(self):
        text = gettext("新导入 %(imported)s 份，覆盖更新 %(updated)s 份，拒绝 %(refused)s 份",
                       imported=self.imported, updated=self.updated, refused=self.refused)
        if self.refused_packages:
            text += gettext("；%(count)s 个上报文件整体被拒绝", count=self.refused_packages)
        if self.errors_omitted:
            text += "；" + omitted_note(self.errors_omitted)
        if self.warnings:
            text += gettext("；%(count)s 条提醒请核实", count=self.warnings)
        return text

    def to_dict(self):
        return {"imported": self.imported, "updated": self.updated, "refused": self.refused,
                "refused_packages": self.refused_packages, "ok": self.ok,
                "errors_omitted": self.errors_omitted, "warnings": self.warnings,
                "summary": self.summary(), "packages": [p.to_dict() for p in self.packages]}
