"""What protects every page and API of the app: CSRF tokens, security headers, session cookies.

CSRF: Flask-WTF's ``CSRFProtect`` is installed before FAB builds its blueprints, so it checks the
token on every POST/PUT/PATCH/DELETE of every page, and FAB's list actions refuse a GET (FAB's
``is_get_mutation_allowed`` looks for ``app.extensions["csrf"]``). FAB exempts its REST API
blueprints from the check because a JWT bearer token, which a cross-site page cannot attach, is
what authenticates them. One gap stays: an API view that also accepts the browser's session cookie
would then change state for any page that can make the browser send a request. The rule below
closes it: a state-changing request to an exempt API that carries no bearer token must carry the
CSRF token as soon as the session holds a logged-in user. Anonymous calls (the JWT login, the
filler's client API) have no session identity to abuse and stay tokenless.

Headers: Flask-Talisman sets the Content-Security-Policy, frame-ancestors / X-Frame-Options,
X-Content-Type-Options, Referrer-Policy and, when configured, HSTS. FAB's own pages use inline
scripts and styles, so those are allowed from the page itself only; nothing is loaded from another
origin (government networks often have no internet, and nothing must be).
"""
from flask import current_app, request, session
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": ["'self'", "'unsafe-inline'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

csrf = CSRFProtect()
talisman = Talisman()


def install(app):
    """Install CSRF protection and the security headers; call before ``AppBuilder.init_app``."""
    csrf.init_app(app)
    app.before_request(_cookie_api_calls_need_the_token)
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=app.config["HSTS_ENABLED"],
        strict_transport_security_max_age=app.config["HSTS_MAX_AGE"],
        strict_transport_security_include_subdomains=False,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        session_cookie_http_only=True,
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="same-origin",
        x_content_type_options=True,
    )


def _cookie_api_calls_need_the_token():
    if request.method not in UNSAFE_METHODS or not current_app.config.get("WTF_CSRF_ENABLED"):
        return
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return
    # Flask-Login keeps the logged-in user's id under this key; without it the request carries
    # no identity that a forged request could borrow.
    if "_user_id" not in session:
        return
    csrf.protect()

