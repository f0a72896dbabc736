"""Web views of app.workflow."""


def register(appbuilder):
    """Add this area's views and menu entries."""
