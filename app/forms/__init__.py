"""Form schemas and the package format shared by the server and the desktop filler.

Kept free of Flask, SQLAlchemy and GUI imports: the filler imports these modules directly.
"""
