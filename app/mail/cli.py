"""`flask pucha` commands of app.mail."""


def register(group):
    """Add this area's commands to the `flask pucha` group."""
