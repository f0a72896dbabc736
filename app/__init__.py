"""pucha platform package.

Kept light on purpose: importing `app` (for `hookimpl`, or the form schema primitives in
`app.forms`) must not start a web framework, so the desktop filler can use them.
"""
from app.hookspecs import hookimpl  # noqa: F401

__all__ = ["hookimpl"]
