"""Fuzzing the package reader's cheapest checks: whatever bytes sit in a zip's end record and
central directory, reading ends in a package or a PackageError (never another exception), and
an upload's budget is never overspent."""
import io
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.forms import package as pkg
from plugins.basic_info.schema import SCHEMA, example_form

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
BASE = pkg.pack(SCHEMA, [example_form(variant=i) for i in range(3)], "pucha-filler", "1.0.0")
END = BASE.rfind(b"PK\x05\x06")
DIRECTORY = struct.unpack_from("<L", BASE, END + 16)[0]


def _read(data, budget=None):
    try:
        return pkg.read_package(data, budget=budget)
    except pkg.PackageError as err:
        assert err.message and err.code
        return err


@SETTINGS
@given(field=st.sampled_from([8, 10, 12, 16]), value=st.integers(0, 2**32 - 1))
def test_any_end_record_field(field, value):
    """Entry counts, directory size and offset set to anything."""
    data = bytearray(BASE)
    width = 2 if field in (8, 10) else 4
    struct.pack_into("<H" if width == 2 else "<L", data, END + field, value % (1 << 8 * width))
    _read(bytes(data))


@SETTINGS
@given(edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1,
                      max_size=8))
def test_any_bytes_in_the_directory(edits):
    data = bytearray(BASE)
    span = len(data) - DIRECTORY
    for offset, byte in edits:
        data[DIRECTORY + offset % span] = byte
    _read(bytes(data))


@SETTINGS
@given(records=st.integers(0, 400), declared=st.integers(0, 400), zip64=st.booleans())
def test_any_directory_under_any_claim(records, declared, zip64):
    from tests.support.hostile_packages import lying_directory

    result = _read(lying_directory(records=records, declared=declared, zip64=zip64))
    assert isinstance(result, pkg.PackageError)
    if records != declared:
        assert result.code in ("directory_mismatch", "too_many_entries"), result.code


@SETTINGS
@given(forms=st.integers(1, 6), max_forms=st.integers(1, 8), max_bytes=st.integers(1, 40_000),
       max_values=st.integers(1, 2_000), uploads=st.integers(1, 3))
def test_a_budget_is_never_overspent(forms, max_forms, max_bytes, max_values, uploads):
    data = pkg.pack(SCHEMA, [example_form(variant=i) for i in range(forms)], "pucha-filler", "1.0.0")
    budget = pkg.UploadBudget(max_forms=max_forms, max_bytes=max_bytes, max_values=max_values)
    for _ in range(uploads):
        result = _read(io.BytesIO(data), budget)
        if isinstance(result, pkg.PackageError):
            assert result.code.startswith("upload_"), result.code
        assert budget.forms <= max_forms and budget.bytes <= max_bytes
        assert budget.values <= max_values


def test_a_directory_record_asking_for_a_newer_zip_version_is_refused():
    """Found by the fuzzing above: zipfile raises NotImplementedError while reading the
    directory when a record needs a zip version it does not know (here 6.4)."""
    data = bytearray(BASE)
    data[DIRECTORY + 6] = 64  # "version needed to extract" of the first record
    assert isinstance(_read(bytes(data)), pkg.PackageError)


def _scan_walking_every_token(text, depth_limit=pkg.MAX_JSON_DEPTH, value_limit=None):
    """``json_scan`` as it was first written (strings removed by the regex, each bracket walked):
    the reference its faster form must agree with on any text."""
    import re

    bare, strings = re.subn(r'"[^"\\]*(?:\\.[^"\\]*)*"', "", text)
    scalars = re.subn(r"[-0-9][-+.0-9eE]*|true|false|null", "", bare)[1]
    values = strings + scalars + bare.count("[") + bare.count("{")
    if value_limit is not None and values > value_limit:
        return False, values
    depth = 0
    for match in re.finditer(r"[\[\]{}]", bare):
        if match.group() in "[{":
            depth += 1
            if depth > depth_limit:
                return True, values
        else:
            depth -= 1
    return False, values


@SETTINGS
@given(text=st.text(alphabet='[]{}"\\ab1-.eEtrufalsn,: \n汉', max_size=80),
       depth_limit=st.integers(0, 6), value_limit=st.none() | st.integers(0, 20))
def test_json_scan_agrees_with_the_token_walk(text, depth_limit, value_limit):
    """Escapes, unpaired quotes and brackets, literals cut short, text outside strings: the
    scan's count and nesting verdict are the token walk's."""
    assert pkg.json_scan(text, depth_limit, value_limit) == _scan_walking_every_token(
        text, depth_limit, value_limit)


def test_json_scan_agrees_on_real_forms_and_deep_nesting():
    for form in [example_form(variant=i) for i in range(5)]:
        text = pkg._dump(form).decode("utf-8")
        assert pkg.json_scan(text) == _scan_walking_every_token(text)
    for depth in range(0, 25):
        for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth,
                     "[" * depth, "]" * depth + "[" * depth, "[{" * depth + "]}" * depth):
            assert pkg.json_scan(text) == _scan_walking_every_token(text), text
