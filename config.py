"""Every setting of pucha in one place.

Each setting reads an environment variable first (named in the comment beside it) and falls
back to the embedded default: SQLite in ./var, mail kept in the outbox until a worker sends it.
docs/config.md lists them all; a test keeps that page and this file in step.
"""
import os
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent


def _env(name, default=None):
    return os.environ.get(name, default)


def _env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


# --- where things live ---------------------------------------------------------------------
# PUCHA_VAR_DIR: folder for the SQLite database, uploaded packages and generated files.
VAR_DIR = Path(_env("PUCHA_VAR_DIR", BASE_DIR / "var")).resolve()
# PUCHA_DATABASE_URL: SQLAlchemy URL; postgresql+psycopg://user:pw@host/db for production.
SQLALCHEMY_DATABASE_URI = _env("PUCHA_DATABASE_URL", f"sqlite:///{VAR_DIR / 'pucha.db'}")
SQLALCHEMY_TRACK_MODIFICATIONS = False
# PUCHA_FILE_STORAGE: folder where uploaded packages and file-center files are kept.
FILE_STORAGE_DIR = Path(_env("PUCHA_FILE_STORAGE", VAR_DIR / "files")).resolve()

# --- secrets -------------------------------------------------------------------------------
# PUCHA_SECRET_KEY: signs sessions and tokens. `make run` writes a random one to var/secret_key.
SECRET_KEY = _env("PUCHA_SECRET_KEY", "")
if not SECRET_KEY:
    _key_file = VAR_DIR / "secret_key"
    if _key_file.exists():
        SECRET_KEY = _key_file.read_text().strip()
    else:
        import secrets as _secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        SECRET_KEY = _secrets.token_hex(32)
        _key_file.write_text(SECRET_KEY)
        _key_file.chmod(0o600)
JWT_SECRET_KEY = SECRET_KEY
# PUCHA_CSRF: check the CSRF token on every state-changing request (never turn off in production).
WTF_CSRF_ENABLED = _env_bool("PUCHA_CSRF", True)
# The token lives as long as the session: a form left open over lunch still submits.
WTF_CSRF_TIME_LIMIT = None

# --- cookies and security headers ----------------------------------------------------------
# Lax: the session cookie is not sent with cross-site POSTs, and a link from a mail still opens
# the page logged in.
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
# PUCHA_COOKIE_SECURE: send the session cookie over HTTPS only (on in production, see
# docs/deploy.md's checklist in docs/config.md).
SESSION_COOKIE_SECURE = _env_bool("PUCHA_COOKIE_SECURE", False)
REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
REMEMBER_COOKIE_SAMESITE = "Lax"
# PUCHA_FORCE_HTTPS: redirect plain-HTTP requests to HTTPS (when the app itself sees the scheme).
FORCE_HTTPS = _env_bool("PUCHA_FORCE_HTTPS", False)
# PUCHA_HSTS / PUCHA_HSTS_MAX_AGE: send Strict-Transport-Security, and for how many seconds.
HSTS_ENABLED = _env_bool("PUCHA_HSTS", False)
HSTS_MAX_AGE = _env_int("PUCHA_HSTS_MAX_AGE", 365 * 24 * 3600)

# --- the application -------------------------------------------------------------------------
APP_NAME = "全国政府网站普查报送系统"
APP_THEME = ""
FAB_BASE_TEMPLATE = "pucha/baselayout.html"
FAB_INDEX_VIEW = "app.public.views.HomeView"
FAB_SECURITY_MANAGER_CLASS = "app.accounts.security.PuchaSecurityManager"
# Permissions are synced by `flask pucha sync-perms`, not on every start (it is slow at scale
# and races when several processes start together).
FAB_UPDATE_PERMS = _env_bool("PUCHA_UPDATE_PERMS", False)
# The schema is Alembic's (`flask pucha upgrade-db`, docs/migrations.md): FAB must not create
# tables at start-up, or a fresh database would get today's tables with no migration recorded.
# Its built-in roles are made by `upgrade-db` and `setup` instead.
FAB_CREATE_DB = False
FAB_ADD_SECURITY_API = True
# FAB's raw permission tables (基本权限, 视图/菜单, 视图/菜单权限) are not offered: roles are defined
# by `flask pucha sync-perms`, and those pages show FAB's internal names (docs/security.md).
FAB_ADD_SECURITY_PERMISSION_VIEW = False
FAB_ADD_SECURITY_VIEW_MENU_VIEW = False
FAB_ADD_SECURITY_PERMISSION_VIEWS_VIEW = False
FAB_API_SWAGGER_UI = True
FAB_API_MAX_PAGE_SIZE = 500
AUTH_TYPE = AUTH_DB
AUTH_ROLE_ADMIN = "系统管理员"
AUTH_ROLE_PUBLIC = "Public"
AUTH_USER_REGISTRATION = False
AUTH_ROLE_ORG = "组织单位"

# --- language ------------------------------------------------------------------------------
BABEL_DEFAULT_LOCALE = _env("PUCHA_LOCALE", "zh")
BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
LANGUAGES = {
    "zh": {"flag": "cn", "name": "简体中文"},
    "en": {"flag": "gb", "name": "English"},
}
BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "app" / "translations")

# --- accounts ------------------------------------------------------------------------------
# PUCHA_PASSWORD_MIN_LENGTH: shortest password a user may choose.
PASSWORD_MIN_LENGTH = _env_int("PUCHA_PASSWORD_MIN_LENGTH", 8)
# PUCHA_INITIAL_PASSWORD_LENGTH: length of generated initial passwords.
INITIAL_PASSWORD_LENGTH = _env_int("PUCHA_INITIAL_PASSWORD_LENGTH", 10)
# The lockout (docs/security.md "Failed logins"). PUCHA_LOCKOUT_THRESHOLD / PUCHA_LOCKOUT_MINUTES:
# failed logins in a row of one account from one client address that lock the account for that
# address, and the first lock's minutes; each further lock in a row doubles, up to
# PUCHA_LOCKOUT_MAX_MINUTES.
LOCKOUT_THRESHOLD = _env_int("PUCHA_LOCKOUT_THRESHOLD", 5)
LOCKOUT_MINUTES = _env_int("PUCHA_LOCKOUT_MINUTES", 15)
LOCKOUT_MAX_MINUTES = _env_int("PUCHA_LOCKOUT_MAX_MINUTES", 24 * 60)
# PUCHA_LOCKOUT_ACCOUNT_THRESHOLD / PUCHA_LOCKOUT_ACCOUNT_MINUTES: failed logins in a row from
# all addresses together that lock the account for every address it has never logged in from
# (0 turns the account-wide lock off), and for how long.
LOCKOUT_ACCOUNT_THRESHOLD = _env_int("PUCHA_LOCKOUT_ACCOUNT_THRESHOLD", 50)
LOCKOUT_ACCOUNT_MINUTES = _env_int("PUCHA_LOCKOUT_ACCOUNT_MINUTES", 60)
FAB_PASSWORD_HASH_METHOD = "scrypt"

# --- rate limits ---------------------------------------------------------------------------
# PUCHA_RATELIMIT: rate limiting on (1) or off. PUCHA_LOGIN_RATE_LIMIT: login attempts per client
# address, on the login page and on the JWT login (/api/v1/security/login) each.
RATELIMIT_ENABLED = _env_bool("PUCHA_RATELIMIT", True)
AUTH_RATE_LIMITED = RATELIMIT_ENABLED
AUTH_RATE_LIMIT = _env("PUCHA_LOGIN_RATE_LIMIT", "30 per minute")
# PUCHA_RATELIMIT_STORAGE: where limits are counted. memory:// is per process and only for the
# embedded single-process default; production sets redis://host:6379/0 so that every process
# counts in the same store.
RATELIMIT_STORAGE_URI = _env("PUCHA_RATELIMIT_STORAGE", "memory://")
# PUCHA_PROXY_COUNT: reverse proxies in front of the app that append to X-Forwarded-For (0: none).
# Behind a proxy without it every client has the proxy's address, and the per-address limits and
# locks would act on everyone at once.
PROXY_COUNT = _env_int("PUCHA_PROXY_COUNT", 0)
# PUCHA_PUBLIC_RATE_LIMIT: limit on public forms such as 标识码找回, per client address.
PUBLIC_RATE_LIMIT = _env("PUCHA_PUBLIC_RATE_LIMIT", "10 per hour")
# PUCHA_CLIENT_API_RATE_LIMIT: limit on the filler's API calls, per client address.
CLIENT_API_RATE_LIMIT = _env("PUCHA_CLIENT_API_RATE_LIMIT", "120 per minute")
# PUCHA_SITE_RECOVER_LIMIT: 标识码找回 mails per website, however many visitors ask (the answer
# stays the same beyond it; docs/basic-info.md "标识码找回").
SITE_RECOVER_LIMIT = _env("PUCHA_SITE_RECOVER_LIMIT", "3 per day")
# The filler's 网站标识码 + 校验码 check (docs/security.md "Site verification"):
# PUCHA_SITE_VERIFY_SLOWDOWN_AFTER failures in a row of one code from one address make each
# further attempt wait PUCHA_SITE_VERIFY_SLOWDOWN_SECONDS (doubling); PUCHA_SITE_VERIFY_THRESHOLD
# failures lock the code for that address for PUCHA_SITE_VERIFY_LOCK_MINUTES (doubling per lock
# in a row, up to PUCHA_SITE_VERIFY_MAX_MINUTES); PUCHA_SITE_VERIFY_CODE_THRESHOLD failures in a
# row from all addresses lock the code for PUCHA_SITE_VERIFY_CODE_MINUTES for every address
# that never verified it (0: off).
SITE_VERIFY_SLOWDOWN_AFTER = _env_int("PUCHA_SITE_VERIFY_SLOWDOWN_AFTER", 3)
SITE_VERIFY_SLOWDOWN_SECONDS = _env_int("PUCHA_SITE_VERIFY_SLOWDOWN_SECONDS", 5)
SITE_VERIFY_THRESHOLD = _env_int("PUCHA_SITE_VERIFY_THRESHOLD", 6)
SITE_VERIFY_LOCK_MINUTES = _env_int("PUCHA_SITE_VERIFY_LOCK_MINUTES", 15)
SITE_VERIFY_MAX_MINUTES = _env_int("PUCHA_SITE_VERIFY_MAX_MINUTES", 24 * 60)
SITE_VERIFY_CODE_THRESHOLD = _env_int("PUCHA_SITE_VERIFY_CODE_THRESHOLD", 60)
SITE_VERIFY_CODE_MINUTES = _env_int("PUCHA_SITE_VERIFY_CODE_MINUTES", 60)
# PUCHA_SITE_TOKEN_MINUTES: how long the token a successful check returns authorises that
# website's self-check submission.
SITE_TOKEN_MINUTES = _env_int("PUCHA_SITE_TOKEN_MINUTES", 30)

# --- mail ----------------------------------------------------------------------------------
# PUCHA_MAIL_SERVER / _PORT / _USE_TLS / _USE_SSL / _USERNAME / _PASSWORD / _SENDER
MAIL_SERVER = _env("PUCHA_MAIL_SERVER", "localhost")
MAIL_PORT = _env_int("PUCHA_MAIL_PORT", 25)
MAIL_USE_TLS = _env_bool("PUCHA_MAIL_USE_TLS", False)
MAIL_USE_SSL = _env_bool("PUCHA_MAIL_USE_SSL", False)
MAIL_USERNAME = _env("PUCHA_MAIL_USERNAME")
MAIL_PASSWORD = _env("PUCHA_MAIL_PASSWORD")
MAIL_DEFAULT_SENDER = _env("PUCHA_MAIL_SENDER", "普查报送系统 <pucha@localhost>")
# PUCHA_MAIL_MAX_ATTEMPTS: attempts before a message is marked failed (it stays in the outbox).
MAIL_MAX_ATTEMPTS = _env_int("PUCHA_MAIL_MAX_ATTEMPTS", 12)
# PUCHA_MAIL_RETRY_BASE_SECONDS: first retry delay; doubles each attempt, capped at one hour.
MAIL_RETRY_BASE_SECONDS = _env_int("PUCHA_MAIL_RETRY_BASE_SECONDS", 30)
# PUCHA_MAIL_LEASE_SECONDS: how long a worker holds a claimed message before another may retry it.
MAIL_LEASE_SECONDS = _env_int("PUCHA_MAIL_LEASE_SECONDS", 300)
# PUCHA_MAIL_TIMEOUT: seconds to wait for the SMTP server before a send counts as failed.
MAIL_TIMEOUT = _env_int("PUCHA_MAIL_TIMEOUT", 30)

# --- plugins -------------------------------------------------------------------------------
# The plugins shipped in plugins/, always loaded and registered exactly like external ones. They
# are named here, not in app/: the platform knows no form type by name.
BUILTIN_PLUGINS = (
    "plugins.basic_info.plugin",
    "plugins.filecenter.plugin",
)
# PUCHA_PLUGINS: comma-separated names of external plugins (entry-point group `pucha.plugins`)
# allowed to load; unset loads all installed ones, an empty string loads none.
PLUGINS_ALLOWED = _env("PUCHA_PLUGINS")
# PUCHA_TRACE_PLUGINS: 1 logs every hook call with its arguments and results.
TRACE_PLUGINS = _env_bool("PUCHA_TRACE_PLUGINS", False)

# --- the filler ----------------------------------------------------------------------------
# PUCHA_FILLER_LATEST_VERSION: the filler version announced to clients on start.
FILLER_LATEST_VERSION = _env("PUCHA_FILLER_LATEST_VERSION", "1.0.0")
# PUCHA_FILLER_DOWNLOAD_URL: where the new-version notice sends users (seed 000: download only
# from the home page or the 技术支持中心).
FILLER_DOWNLOAD_URL = _env("PUCHA_FILLER_DOWNLOAD_URL", "/")

# --- 技术支持中心 (docs/support-center.md) ----------------------------------------------------
# PUCHA_SUPPORT_UPLOAD_MAX_MB: largest file an administrator publishes there (an installer, a
# manual, a video); a request is also capped by PUCHA_UPLOAD_MAX_BYTES, so raise both for
# bigger videos.
SUPPORT_UPLOAD_MAX_BYTES = _env_int("PUCHA_SUPPORT_UPLOAD_MAX_MB", 64) * 1024 * 1024
# PUCHA_SUPPORT_HOTLINE / PUCHA_SUPPORT_MAIL: the hotline and mail shown when the administrator
# has set none (系统管理 → 技术支持中心).
SUPPORT_HOTLINE = _env("PUCHA_SUPPORT_HOTLINE", "")
SUPPORT_MAIL = _env("PUCHA_SUPPORT_MAIL", "")
# PUCHA_SUPPORT_GUIDE: the Markdown user guide shown and offered for download there.
SUPPORT_GUIDE_FILE = Path(_env("PUCHA_SUPPORT_GUIDE", BASE_DIR / "docs" / "user-guide.md")).resolve()

# --- packages ------------------------------------------------------------------------------
# PUCHA_UPLOAD_MAX_BYTES: largest upload accepted in one request.
MAX_CONTENT_LENGTH = _env_int("PUCHA_UPLOAD_MAX_BYTES", 64 * 1024 * 1024)
# What one import (every package of one upload together) may cost, checked from the zip's
# directory and a scan of each form before anything is inflated or parsed. The defaults keep the
# worst upload within 0.5 s and 100 MB with room to spare on a busy server (bench/hostile.py,
# docs/performance.md); an honest form is 3-10 KB and ~150 JSON values.
# PUCHA_UPLOAD_MAX_FORMS: forms in one upload.
UPLOAD_MAX_FORMS = _env_int("PUCHA_UPLOAD_MAX_FORMS", 100)
# PUCHA_UPLOAD_MAX_UNCOMPRESSED: uncompressed bytes (manifests and forms) of one upload.
UPLOAD_MAX_UNCOMPRESSED_BYTES = _env_int("PUCHA_UPLOAD_MAX_UNCOMPRESSED", 2 * 1024 * 1024)
# PUCHA_UPLOAD_MAX_JSON_VALUES: JSON values (strings, numbers, objects, arrays) of one upload.
UPLOAD_MAX_JSON_VALUES = _env_int("PUCHA_UPLOAD_MAX_JSON_VALUES", 20_000)
# PUCHA_PACKAGE_QUOTA_MB: package files one unit may have stored (imported or refused) before
# further uploads are refused unstored.
PACKAGE_QUOTA_BYTES = _env_int("PUCHA_PACKAGE_QUOTA_MB", 512) * 1024 * 1024
# PUCHA_REFUSED_PACKAGE_DAYS: days a package that imported nothing is kept; then
# `flask pucha purge-packages` deletes it. Packages that imported a form are never purged.
REFUSED_PACKAGE_RETENTION_DAYS = _env_int("PUCHA_REFUSED_PACKAGE_DAYS", 30)

# --- audit log -----------------------------------------------------------------------------
# PUCHA_AUDIT_EXPORT_MAX_ROWS: most events one 审计日志 export writes (newest first); a larger
# query is cut there and the file says so, so one click cannot tie up a process for minutes.
AUDIT_EXPORT_MAX_ROWS = _env_int("PUCHA_AUDIT_EXPORT_MAX_ROWS", 100_000)
