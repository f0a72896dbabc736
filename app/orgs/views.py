"""Web views of app.orgs."""


def register(appbuilder):
    """Add this area's views and menu entries."""
