"""Web views of app.accounts."""


def register(appbuilder):
    """Add this area's views and menu entries."""
