"""What plugins contribute, collected from the contribution hooks and validated here.

The platform reads form types, workflows, file generators and public links only through this
module, so it never names a form type itself.
"""
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from app.formtypes.types import FormType
from app.plugins import get_plugin_manager


@dataclass(frozen=True)
class FileGenerator:
    """A file the file center makes for a unit on demand (e.g. the account table)."""

    name: str
    label: str
    filename: Callable[[Any], str]
    applies_to: Callable[[Any], bool]
    generate: Callable[[Any], bytes]
    mimetype: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class PublicLink:
    """A link on the public home page."""

    label: str
    url: str
    description: str = ""
    order: int = 100


class RegistrationError(ValueError):
    """A plugin registered something malformed or a duplicate name."""


def _collect(hook_name, kind, key=lambda item: item.name):
    items = {}

    def register(item):
        if not isinstance(item, kind):
            raise RegistrationError(f"{hook_name} 需要 {kind.__name__}，得到 {type(item).__name__}")
        name = key(item)
        if not name:
            raise RegistrationError(f"{hook_name}: {kind.__name__} 缺少名称")
        if name in items:
            raise RegistrationError(f"{hook_name}: 名称 {name} 重复注册")
        items[name] = item

    getattr(get_plugin_manager().hook, hook_name)(register=register)
    return items


def form_types():
    return _collect("register_form_types", FormType)


def workflows():
    from app.workflow.engine import Workflow

    return _collect("register_workflows", Workflow)


def file_generators():
    return _collect("register_file_generators", FileGenerator)


def public_links():
    links = []
    for result in get_plugin_manager().hook.public_links():
        for link in result or []:
            if not isinstance(link, PublicLink):
                raise RegistrationError(f"public_links 需要 PublicLink，得到 {type(link).__name__}")
            links.append(link)
    return sorted(links, key=lambda link: (link.order, link.label))
