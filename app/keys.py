"""What can name a row: primary keys are INTEGER columns, 32-bit on PostgreSQL.

A number outside that range reaches the database driver as an overflow error (a 500), so every
place that turns request input into a key checks it here first.
"""
MAX_KEY = 2**31 - 1


def whole_number(value, lowest=1):
    """``value`` as a whole number from ``lowest`` to MAX_KEY, or None: an int or a string of
    digits (a float, a bool, 1e30 or an object is not one)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 10:
        value = int(value.strip())
    if isinstance(value, int) and lowest <= value <= MAX_KEY:
        return value
    return None
