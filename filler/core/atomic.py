"""The filler's crash-safe JSON files, on the shared atomic writer of app.forms.atomic."""
from __future__ import annotations

import json

from app.forms.atomic import atomic_write_bytes


def atomic_write_json(path, obj) -> None:
    # Serialise first: an object that cannot be written must not cost the old file anything.
    data = json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8")
    atomic_write_bytes(path, data + b"\n")


def read_json(path):
    with open(path, "rb") as handle:
        return json.loads(handle.read().decode("utf-8-sig"))
