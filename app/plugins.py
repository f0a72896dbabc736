"""The plugin manager.

Built-in plugins are listed in ``config.BUILTIN_PLUGINS`` (the platform names no plugin) and
registered exactly like external ones; external plugins come from the entry-point group
``pucha.plugins``. A plugin that fails to import, or that implements a hook that does not exist,
stops start-up with a message naming it. The platform's own areas that answer a hook (accounts'
``org_changed``) are registered by the app factory (``register_platform_hooks``).
"""
import importlib
import logging
from importlib.metadata import entry_points

import pluggy

from app import hookspecs

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "pucha.plugins"


class PluginLoadError(RuntimeError):
    """A plugin could not be loaded; start-up stops."""


def _allowed_external(allowed):
    if allowed is None:
        return None
    return {name.strip() for name in allowed.split(",") if name.strip()}


def build_plugin_manager(allowed_external=None, trace=False, builtin_plugins=None):
    """Return a checked PluginManager with the built-in (default: ``config.BUILTIN_PLUGINS``)
    and the allowed external plugins."""
    if builtin_plugins is None:
        builtin_plugins = _config().BUILTIN_PLUGINS
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for module_name in builtin_plugins:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # start-up must stop loudly, naming the plugin
            raise PluginLoadError(f"内置插件 {module_name} 加载失败：{exc}") from exc
        pm.register(module, name=module_name)

    allowed = _allowed_external(allowed_external)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and ep.name not in allowed:
            log.info("external plugin %s not in PUCHA_PLUGINS, skipped", ep.name)
            continue
        if pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginLoadError(f"外部插件 {ep.name}（{ep.value}）加载失败：{exc}") from exc
        pm.register(plugin, name=ep.name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(f"插件实现了不存在的钩子：{exc}") from exc
    if trace:
        pm.trace.root.setwriter(log.warning)
        pm.enable_tracing()
    return pm


def register_platform_hooks(pm, modules):
    """Register the platform's own hook implementations (once each, by module name)."""
    for module in modules:
        if pm.get_plugin(module.__name__) is None:
            pm.register(module, name=module.__name__)


def _config():
    # Read when a manager is first built, not when this module is imported: importing config
    # creates var/ and the secret key file, and importing this module (app.orgs does, to
    # announce org changes) must not.
    import config

    return config


_pm = None


def get_plugin_manager():
    """The process's plugin manager, built on first use from config."""
    global _pm
    if _pm is None:
        config = _config()
        _pm = build_plugin_manager(config.PLUGINS_ALLOWED, config.TRACE_PLUGINS)
    return _pm


def set_plugin_manager(pm):
    """Replace the process's plugin manager (the app factory and tests do this)."""
    global _pm
    _pm = pm
