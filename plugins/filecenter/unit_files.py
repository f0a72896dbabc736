"""文件中心 → 我的协作组, the unit's own folder: the files the platform generates for a unit.

Each file comes from a ``FileGenerator`` a plugin registered (``register_file_generators``); the
file center names none of them. The account table of a unit's direct sub-units (seed 004 §2) is
one, registered by this plugin's ``plugin.py`` from ``app.accounts.account_table``. A unit sees
and downloads only its own folder's files: the folder is the acting unit's, never a unit named in
the request, so there is nothing to scope but the viewer itself. Every download writes its audit
row (who, unit, file) in the same transaction that reads the file's data.
"""
from dataclasses import dataclass

from app import audit
from app.errors import NotFound
from app.i18n_text import N_, gettext
from app.orgs.scope import require_acting_viewer
from app.registry import FileGenerator, file_generators

MSG_NO_FILE = N_("本单位的文件夹中没有这个文件")
MSG_NO_UNIT = N_("系统管理员账号不属于任何单位，没有自己的文件夹；请用单位账号登录查看")


@dataclass(frozen=True)
class GeneratedFile:
    """One file of a unit's folder, as the page lists it."""

    name: str
    label: str
    filename: str


def _acting_org(actor):
    viewer = require_acting_viewer(actor)
    if viewer.org is None:
        raise NotFound(gettext(MSG_NO_UNIT))
    return viewer.org


def folder_files(actor):
    """The generated files of ``actor``'s own unit, in registration order; an administrator
    without a unit has no folder (empty)."""
    viewer = require_acting_viewer(actor)
    if viewer.org is None:
        return []
    return [GeneratedFile(name=g.name, label=str(g.label), filename=g.filename(viewer.org))
            for g in file_generators().values() if g.applies_to(viewer.org)]


def download_generated(session, actor, name):
    """Generate file ``name`` for ``actor``'s unit and record the download.

    Returns (generator, filename, bytes); raises ``NotFound`` for a name that is not registered
    or does not apply to this unit (a unit without sub-units has no account table)."""
    org = _acting_org(actor)
    generator: FileGenerator = file_generators().get(name)
    if generator is None or not generator.applies_to(org):
        raise NotFound(gettext(MSG_NO_FILE))
    filename = generator.filename(org)
    data = generator.generate(org)
    audit.record(session, "download", generator.name, org.code, actor=actor, org_id=org.id,
                 detail={"file": filename, "by": "file_center"})
    session.commit()
    return generator, filename, data
