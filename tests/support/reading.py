"""Count what reading a package costs: bytes read from the upload, central-directory records
parsed by ``zipfile``, bytes inflated, characters handed to ``json.loads``.

The promise of the package reader is that a hostile package is refused having cost little. Seconds
say that on an idle machine only; these counts say it on any machine, and a check that runs too
late shows up as work done, whatever the machine's speed. The seconds themselves are measured by
``python -m bench.hostile``.
"""
import contextlib
import json
from dataclasses import dataclass, field
from unittest import mock
from zipfile import ZipExtFile, ZipFile  # the real classes, whatever a test swaps in later


@dataclass
class ReadCost:
    source_bytes: int = 0  # read from the upload itself (bytes, file or path)
    directory_records: int = 0  # central-directory records zipfile turned into ZipInfo objects
    opened: list = field(default_factory=list)  # entries opened for inflating, in order
    inflated: int = 0  # bytes inflated out of those entries
    parsed: list = field(default_factory=list)  # length of each text handed to json.loads

    @property
    def parsed_chars(self):
        return sum(self.parsed)


class _CountingFile:
    """A file object that counts the bytes read through it (everything else delegated)."""

    def __init__(self, fh, cost):
        self._fh, self._cost = fh, cost

    def read(self, n=-1):
        data = self._fh.read(n)
        self._cost.source_bytes += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self._fh, name)


@contextlib.contextmanager
def counting_reads():
    """``with counting_reads() as cost: read_package(...)`` then look at ``cost``."""
    from app.forms import package as pkg

    cost = ReadCost()
    open_source = pkg._open_source
    real_contents = ZipFile._RealGetContents
    real_open = ZipFile.open
    real_read = ZipExtFile.read
    real_loads = json.loads

    def counted_source(source):
        fh, size, close = open_source(source)
        return _CountingFile(fh, cost), size, close

    def counted_contents(self):
        try:
            real_contents(self)
        finally:
            cost.directory_records += len(self.filelist)

    def counted_open(self, name, *args, **kwargs):
        cost.opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    def counted_read(self, n=-1):
        data = real_read(self, n)
        cost.inflated += len(data)
        return data

    def counted_loads(text, *args, **kwargs):
        cost.parsed.append(len(text))
        return real_loads(text, *args, **kwargs)

    with mock.patch.object(pkg, "_open_source", counted_source), \
            mock.patch.object(ZipFile, "_RealGetContents", counted_contents), \
            mock.patch.object(ZipFile, "open", counted_open), \
            mock.patch.object(ZipExtFile, "read", counted_read), \
            mock.patch.object(pkg.json, "loads", counted_loads):
        yield cost
