"""`flask pucha` commands of app.workflow."""


def register(group):
    """Add this area's commands to the `flask pucha` group."""
