"""Files the platform keeps: uploaded packages now, the file center's files next (storage.py)."""
