"""Web views of app.mail."""


def register(appbuilder):
    """Add this area's views and menu entries."""
