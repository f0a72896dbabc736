"""`flask pucha` commands of app.orgs."""


def register(group):
    """Add this area's commands to the `flask pucha` group."""
