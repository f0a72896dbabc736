"""The operations of 基本信息表, as the CLI, the demo and the tests call them: the platform's
(app.formtypes.commands and imports) bound to this form type. What is basic information's own —
the 省/市/县 stamp, one website one code, the refusal sentences — is in ``policy``; the 网站标识码
and the completion mail in ``completion``.

Each operation ends in exactly one commit, or a rollback that leaves nothing behind; every
refusal is an ``app.errors`` DomainError whose ``str()`` is a sentence for the user.
"""
from app.formtypes import commands as forms
from app.formtypes import imports
from app.formtypes.commands import FormError, FormInvalid
from app.formtypes.imports import stored_package_path
from app.formtypes.reports import (IMPORTED, OUTCOME_LABELS, REFUSED,
                                   REPORT_ERRORS_PER_FORM, REPORT_ERRORS_PER_UPLOAD,
                                   REPORT_MESSAGE_CHARS, REPORT_TITLE_CHARS,
                                   REPORT_WARNINGS_PER_FORM, REPORT_WARNINGS_PER_UPLOAD, UPDATED,
                                   FormOutcome, ImportReport, PackageReport, omitted_note,
                                   warnings_omitted_note)
from app.workflow.engine import bulk_counts as workflow_bulk_counts
from plugins.basic_info.form_type import FORM
from plugins.basic_info.models import WORKFLOW
from plugins.basic_info.policy import DuplicateSite

def import_packages(session, actor, files):
    """Import uploaded packages as ``actor``'s unit; ``files`` is ``[(filename, bytes), ...]``
    (app.formtypes.imports.import_packages)."""
    return imports.import_packages(session, actor, FORM, files)


def purge_refused_packages(session, days, now=None, dry_run=False):
    return imports.purge_refused_packages(session, FORM, days, now=now, dry_run=dry_run)


def transition(session, actor, name, ids, reason=None, expected_versions=None):
    """提交 / 审核通过 / 退回 the forms ``ids`` as ``actor``."""
    return forms.transition(session, actor, FORM, name, ids, reason=reason,
                            expected_versions=expected_versions)


def transition_all(session, actor, name):
    """全部提交 (``submit``) / 全部审核 (``approve``)."""
    return forms.transition_all(session, actor, FORM, name)


def transition_selected(session, actor, name, ids, reason=None, expected_versions=None):
    """审核通过选中 / 退回选中."""
    return forms.transition_selected(session, actor, FORM, name, ids, reason=reason,
                                     expected_versions=expected_versions)


def bulk_counts(session, org):
    """{name: (taken, returned_left_out)} for 全部提交 / 全部审核 of ``org`` now."""
    return workflow_bulk_counts(session, WORKFLOW, org)


def edit_form(session, actor, form_id, document, expected_version):
    """编辑 / 在线修改 (app.formtypes.commands.edit)."""
    return forms.edit(session, actor, FORM, form_id, document, expected_version)


def delete_form(session, actor, form_id, expected_version):
    return forms.delete_form(session, actor, FORM, form_id, expected_version)


__all__ = [
    "FormError", "FormInvalid", "DuplicateSite", "FormOutcome", "PackageReport", "ImportReport",
    "IMPORTED", "UPDATED", "REFUSED", "OUTCOME_LABELS", "import_packages", "transition",
    "transition_all", "transition_selected", "bulk_counts", "edit_form",
    "delete_form", "stored_package_path", "purge_refused_packages", "omitted_note", "warnings_omitted_note", "REPORT_ERRORS_PER_FORM",
    "REPORT_ERRORS_PER_UPLOAD", "REPORT_MESSAGE_CHARS", "REPORT_TITLE_CHARS",
    "REPORT_WARNINGS_PER_FORM", "REPORT_WARNINGS_PER_UPLOAD",
]
