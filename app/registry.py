"""What plugins contribute, collected from the contribution hooks and validated here.

The platform reads form types, workflows, file generators and public links only through this
module, so it never names a form type itself.
"""
from dataclasses import dataclass
from typing import Any, Callable

from flask import current_app, has_app_context

from app.formtypes.types import FormType
from app.plugins import get_plugin_manager
from app.workflow.model import Workflow


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


@dataclass(frozen=True)
class FillerRelease:
    """The filler installer a plugin publishes (the ``filler_release`` hook): what the filler's
    version check announces instead of FILLER_LATEST_VERSION / FILLER_DOWNLOAD_URL."""

    version: str
    download_url: str


class RegistrationError(ValueError):
    """A plugin registered something malformed or a duplicate name."""


@dataclass(frozen=True)
class Registry:
    """Everything the plugins registered, collected and validated once when the app is built."""

    form_types: dict
    workflows: dict
    file_generators: dict
    public_links: tuple


def _collect(plugin_manager, hook_name, kind, key=lambda item: item.name):
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

    getattr(plugin_manager.hook, hook_name)(register=register)
    return items


def _collect_links(plugin_manager):
    links = []
    for result in plugin_manager.hook.public_links():
        for link in result or []:
            if not isinstance(link, PublicLink):
                raise RegistrationError(f"public_links 需要 PublicLink，得到 {type(link).__name__}")
            links.append(link)
    return tuple(sorted(links, key=lambda link: (link.order, link.label)))


def collect(plugin_manager):
    """Run the contribution hooks once and validate what they register (RegistrationError on a
    malformed or duplicate registration, which stops start-up)."""
    return Registry(
        form_types=_collect(plugin_manager, "register_form_types", FormType),
        workflows=_collect(plugin_manager, "register_workflows", Workflow),
        file_generators=_collect(plugin_manager, "register_file_generators", FileGenerator),
        public_links=_collect_links(plugin_manager),
    )


EXTENSION_KEY = "pucha.registry"


def install(app, plugin_manager):
    """Collect the registry for ``app`` (called once by create_app)."""
    app.extensions[EXTENSION_KEY] = collect(plugin_manager)
    return app.extensions[EXTENSION_KEY]


def registry_of(app):
    """The registry collected when ``app`` was built; for code that holds an app but no request."""
    return app.extensions[EXTENSION_KEY]


# (plugin manager, its registry) for code with no app: collected once per plugin manager.
_registry_without_app = (None, None)


def current_registry():
    """The current app's registry. Outside an app context (plain scripts, unit tests of the
    engine) the process's plugin manager is collected once and kept."""
    global _registry_without_app
    if has_app_context() and EXTENSION_KEY in current_app.extensions:
        return current_app.extensions[EXTENSION_KEY]
    plugin_manager = get_plugin_manager()
    if _registry_without_app[0] is not plugin_manager:
        _registry_without_app = (plugin_manager, collect(plugin_manager))
    return _registry_without_app[1]


def form_types():
    return current_registry().form_types


def workflows():
    return current_registry().workflows


def file_generators():
    return current_registry().file_generators


def public_links():
    return list(current_registry().public_links)
