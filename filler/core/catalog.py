"""The form types this filler can fill: every packaged schema it can find, none named here.

Two sources, read without Flask and without the plugin manager (``plugin.py`` imports models and
therefore the web stack; a ``schema.py`` imports only ``app.forms.schema``):

* built-in plugins: each ``plugins/<name>/schema.py``. The package is walked with
  ``pkgutil.iter_modules``, which lists the sub-packages both from the source tree and from the
  PyInstaller bundle (there the modules sit in the PYZ archive, not as files under
  ``_internal/plugins``; the spec collects every ``plugins/*/schema.py`` at build time);
* installed distributions: the ``pucha.schemas`` entry-point group, each naming a schema module
  (its ``SCHEMA``) or a ``FormSchema`` object.

A schema is a form type of the filler only when it is *packaged*: it declares the folder its forms
sit in inside a package (``FormSchema.package_folder``). A form that is only filled on the web has
no package and stays out of the 新建 menu.

One schema that fails to load (an import error, no ``SCHEMA``, a duplicate name) is reported in
Chinese in ``Catalog.problems`` and skipped; the others still load.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Iterable, Optional

from app.forms.schema import FormSchema

ENTRY_POINT_GROUP = "pucha.schemas"
BUILTIN_PACKAGE = "plugins"


class CatalogError(Exception):
    """A form type that the catalogue does not have (Chinese message)."""


def is_packaged(schema: FormSchema) -> bool:
    """Filled in the filler and handed in as a package: the schema names its package folder."""
    return bool(getattr(schema, "package_folder", ""))


@dataclass
class Catalog:
    """The fillable form types in menu order (built-ins by name, then installed ones), and what
    could not be loaded."""

    schemas: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    def __post_init__(self):
        self.schemas = list(self.schemas)

    def __iter__(self):
        return iter(self.schemas)

    def __len__(self) -> int:
        return len(self.schemas)

    def names(self) -> list:
        return [s.name for s in self.schemas]

    @property
    def default(self) -> Optional[FormSchema]:
        """The type a command means when it names none: the first (the only one, usually)."""
        return self.schemas[0] if self.schemas else None

    def get(self, name: Optional[str] = None) -> FormSchema:
        """The schema of ``name`` (its form type, or its title); the default when ``name`` is empty."""
        if not self.schemas:
            raise CatalogError("本客户端中没有可以填写的表单类型" + self._why())
        if not name:
            return self.default
        for schema in self.schemas:
            if name in (schema.name, schema.label):
                return schema
        known = "、".join(f"{s.name}（{s.label}）" for s in self.schemas)
        raise CatalogError(f"没有表单类型“{name}”。可以填写的表单类型：{known}")

    def _why(self) -> str:
        return "：" + "；".join(self.problems) if self.problems else ""


def _schema_of(loaded, where: str) -> FormSchema:
    schema = loaded if isinstance(loaded, FormSchema) else getattr(loaded, "SCHEMA", None)
    if not isinstance(schema, FormSchema):
        raise TypeError(f"{where}中没有表单定义（应有 SCHEMA = FormSchema(...)）")
    return schema


def _builtin_modules(package: str) -> list:
    """``plugins.<name>.schema`` for every built-in plugin that has a schema module."""
    try:
        root = importlib.import_module(package)
    except ImportError:
        return []
    names = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        module = f"{package}.{info.name}.schema"
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:
            found = True  # the plugin's package itself fails to import: let loading report it
        if found:
            names.append(module)
    return names


def _load(where: str, load, problems: list) -> Optional[FormSchema]:
    try:
        return _schema_of(load(), where)
    except Exception as exc:  # a broken plugin must not take the other form types with it
        why = str(exc) or type(exc).__name__
        problems.append(f"无法载入表单类型{where}：{why}（已跳过，其他表单类型不受影响）")
        return None


def load_catalog(package: str = BUILTIN_PACKAGE, group: str = ENTRY_POINT_GROUP,
                 extra: Iterable[FormSchema] = ()) -> Catalog:
    """Every packaged schema: built-ins, then the ``group`` entry points, then ``extra``."""
    problems = []
    found = []
    for module in _builtin_modules(package):
        found.append((module, _load(f"“{module}”", lambda m=module: importlib.import_module(m), problems)))
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        where = f"“{ep.name}”（{ep.value}）"
        found.append((where, _load(where, ep.load, problems)))
    found += [(s.name, s) for s in extra]
    catalog = Catalog(problems=problems)
    seen = {}
    for where, schema in found:
        if schema is None or not is_packaged(schema):
            continue
        if schema.name in seen:
            if seen[schema.name] is not schema:
                problems.append(f"表单类型“{schema.name}”重复（{where}），已跳过，使用先找到的定义")
            continue
        seen[schema.name] = schema
        catalog.schemas.append(schema)
    return catalog


_cached: Optional[Catalog] = None


def catalog() -> Catalog:
    """The catalogue of this process (loaded once: the filler's set of plugins does not change
    while it runs)."""
    global _cached
    if _cached is None:
        _cached = load_catalog()
    return _cached
