"""The filler's core: the catalogue of form types, form store, list model, validation, export,
Excel batch entry, update check.

Nothing in here imports a GUI toolkit or Flask (a test asserts it in a fresh interpreter): the
GUI and the command line are thin layers over these modules, and the tests drive them directly.
"""
