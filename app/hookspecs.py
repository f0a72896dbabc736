"""Every hook a pucha plugin can implement.

A plugin is a module (or object) with functions decorated by ``app.hookimpl``. Contribution hooks
take a ``register`` callback: the host validates what it is given and owns where it is stored.
Each hook below is documented in docs/plugins.md; a test fails when one is missing there.
"""
import pluggy

PROJECT = "pucha"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_form_types(register):
    """Register form types: call ``register(FormType(...))`` once for each census table the plugin adds."""


@hookspec
def register_workflows(register):
    """Register workflows as data: call ``register(Workflow(...))`` with its stages and transitions."""


@hookspec
def register_views(appbuilder):
    """Add web views and menu entries with ``appbuilder.add_view(...)``; every view must use the org scope."""


@hookspec
def register_apis(appbuilder):
    """Add REST APIs with ``appbuilder.add_api(...)``; they appear in the OpenAPI document."""


@hookspec
def register_cli_commands(group):
    """Add click commands to the ``flask pucha`` command group with ``group.add_command(...)``."""


@hookspec
def register_file_generators(register):
    """Register files the file center generates per unit: ``register(FileGenerator(...))``."""


@hookspec
def public_links():
    """Return links for the public home page as a list of ``PublicLink``; all plugins' lists are shown."""


@hookspec(firstresult=True)
def filler_release(session):
    """Return the published filler installer as ``FillerRelease(version, download_url)``, or None; the first answer wins, config is the fallback."""


@hookspec
def site_facts(session, site_code):
    """Return a dict of facts about the completed website ``site_code`` for the filler's site check (e.g. ``{"self_check_exists": True}``); all answers are merged."""


@hookspec
def after_transition(workflow, transition, object_ids, actor, session):
    """Called inside the transaction after objects changed stage; may add rows (mail, codes) to ``session``."""


@hookspec
def org_changed(session, added, moved, renamed, actor):
    """Called inside the org transaction after units were added, moved or renamed (lists of codes); may add rows to ``session``."""


@hookspec
def load_demo_data(session, echo):
    """Add demonstration rows for ``flask pucha setup`` (skipped with --no-demo); print hints with ``echo``."""


@hookspec
def register_migrations(register):
    """Register the plugin's Alembic revision folder: ``register(label, folder)``; its first revision carries branch label ``label`` and depends on the platform's baseline."""
