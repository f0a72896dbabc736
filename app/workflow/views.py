"""Web views of app.workflow.

The engine has no pages of its own: each form plugin's views show the buttons from
``engine.available_transitions`` and call its commands, which call ``engine.apply``; the audit
timeline is part of each form's detail page.
"""


def register(appbuilder):
    """Add this area's views and menu entries (none: see the module docstring)."""
