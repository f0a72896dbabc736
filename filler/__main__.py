"""``python -m filler``: the window; ``python -m filler <command>``: the headless commands."""
import sys

from filler.cli import main

if __name__ == "__main__":
    sys.exit(main())
