"""The application factory."""
import logging

from flask import Flask
from flask_appbuilder import AppBuilder
from werkzeug.middleware.proxy_fix import ProxyFix

import config
from app import errors, i18n_text, registry, request_guard, web_security
# Imported for their tables as well as their views: models must be known to the metadata
# before db.init_app.
from app import audit  # noqa: F401
from app.accounts import hooks as accounts_hooks
from app.accounts import models as _accounts  # noqa: F401
from app.accounts import views as accounts_views
from app.audit_log import views as audit_log_views
from app.cli import pucha_cli
from app.formtypes import api as formtype_api
from app.formtypes import views as formtype_views
from app.extensions import db, mail
from app.mail import models as _mail  # noqa: F401
from app.mail import views as mail_views
from app.orgs import models as _orgs  # noqa: F401
from app.orgs import views as orgs_views
from app.plugins import (build_plugin_manager, get_plugin_manager, register_platform_hooks,
                         set_plugin_manager)
from app.public import views as public_views
from app.workflow import views as workflow_views

log = logging.getLogger(__name__)

# FAB warns at every start that it cannot build search filters for association proxies of its own
# user/role views, and that "no user yet created, use flask fab" before `flask pucha setup` has
# made the accounts: neither is actionable for an operator, and the noise hides real warnings.
for _noisy in ("flask_appbuilder.models.filters", "flask_appbuilder.security.manager"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)


def create_app(overrides=None, plugin_manager=None):
    """Build the Flask app. ``overrides`` replaces config values (tests use it)."""
    app = Flask(__name__, template_folder="templates", static_folder="static")
    request_guard.install(app)
    errors.install_error_handlers(app)
    app.config.from_object(config)
    if overrides:
        app.config.update(overrides)
    config.VAR_DIR.mkdir(parents=True, exist_ok=True)
    if app.config.get("PROXY_COUNT"):
        # The client's own address for the per-address login limits and locks, not the proxy's.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_COUNT"]))

    if plugin_manager is None:
        plugin_manager = get_plugin_manager()
    register_platform_hooks(plugin_manager, PLATFORM_HOOKS)
    set_plugin_manager(plugin_manager)
    app.extensions["pucha.plugins"] = plugin_manager
    # Collected and validated once: a malformed or duplicate registration stops start-up here.
    registry.install(app, plugin_manager)

    db.init_app(app)
    mail.init_app(app)
    # Before FAB: it exempts its JWT APIs from CSRF only if the extension is already there.
    web_security.install(app)
    i18n_text.install(app)
    with app.app_context():
        appbuilder = AppBuilder()
        appbuilder.init_app(app, db.session)
        _register_platform_views(appbuilder)
        # Every form type's list, detail, edit, import, transitions, export and REST API.
        form_types = registry.form_types().values()
        formtype_views.register(appbuilder, form_types)
        formtype_api.register(appbuilder, form_types)
        plugin_manager.hook.register_views(appbuilder=appbuilder)
        plugin_manager.hook.register_apis(appbuilder=appbuilder)
        appbuilder.post_init()

    app.cli.add_command(pucha_cli)
    return app


# The platform's own areas that answer hooks (the layers below them announce, these act).
PLATFORM_HOOKS = (accounts_hooks,)

# The platform's own areas, in menu order.
PLATFORM_VIEWS = (public_views, orgs_views, accounts_views, workflow_views, mail_views,
                  audit_log_views)


def _register_platform_views(appbuilder):
    for area in PLATFORM_VIEWS:
        area.register(appbuilder)


__all__ = ["create_app", "build_plugin_manager"]
