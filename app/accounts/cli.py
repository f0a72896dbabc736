"""`flask pucha` commands of app.accounts."""


def register(group):
    """Add this area's commands to the `flask pucha` group."""
