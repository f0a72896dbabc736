"""The filler's window: a thin PySimpleGUI layer over ``filler.core``.

Every decision (what is valid, where a form is saved, what goes into a package) is made by the
core; this package only turns events into core calls and core results into widgets, so a test
can drive a real window through its events and check what the user would see.
"""
