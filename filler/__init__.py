"""填报客户端: the desktop filler that filing units use to fill the census forms offline (every
form type its catalogue finds, see ``filler.core.catalog``).

Kept light on purpose: importing ``filler`` (for ``__version__``) starts no GUI toolkit, so the
headless commands and the PyInstaller build can read the version cheaply.
"""

__version__ = "1.0.0"

# The user-facing name, used in window titles, the CLI and the Excel template.
APP_NAME = "政府网站普查填报客户端"
