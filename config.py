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
WTF_CSRF_ENABLED = _env_bool("PUCHA_CSRF", True)
WTF_CSRF_TIME_LIMIT = None

# --- the application -------------------------------------------------------------------------
APP_NAME = "全国政府网站普查报送系统"
APP_THEME = ""
FAB_BASE_TEMPLATE = "pucha/baselayout.html"
FAB_INDEX_VIEW = "app.public.views.HomeView"
FAB_SECURITY_MANAGER_CLASS = "app.accounts.security.PuchaSecurityManager"
# Permissions are synced by `flask pucha sync-perms`, not on every start (it is slow at scale
# and races when several processes start together).
FAB_UPDATE_PERMS = _env_bool("PUCHA_UPDATE_PERMS", False)
FAB_ADD_SECURITY_API = True
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
# PUCHA_LOCKOUT_THRESHOLD / PUCHA_LOCKOUT_MINUTES: failed logins in a row that lock an account,
# and for how long.
LOCKOUT_THRESHOLD = _env_int("PUCHA_LOCKOUT_THRESHOLD", 5)
LOCKOUT_MINUTES = _env_int("PUCHA_LOCKOUT_MINUTES", 15)
FAB_PASSWORD_HASH_METHOD = "scrypt"

# --- rate limits ---------------------------------------------------------------------------
# PUCHA_RATELIMIT_STORAGE: where limits are counted; memory:// is per process, so production with
# several processes sets redis://… or memcached://… here.
RATELIMIT_ENABLED = _env_bool("PUCHA_RATELIMIT", True)
AUTH_RATE_LIMITED = RATELIMIT_ENABLED
AUTH_RATE_LIMIT = _env("PUCHA_LOGIN_RATE_LIMIT", "30 per minute")
RATELIMIT_STORAGE_URI = _env("PUCHA_RATELIMIT_STORAGE", "memory://")
# PUCHA_PUBLIC_RATE_LIMIT: limit on public forms such as 标识码找回, per client address.
PUBLIC_RATE_LIMIT = _env("PUCHA_PUBLIC_RATE_LIMIT", "10 per hour")
# PUCHA_CLIENT_API_RATE_LIMIT: limit on the filler's API calls, per client address.
CLIENT_API_RATE_LIMIT = _env("PUCHA_CLIENT_API_RATE_LIMIT", "120 per minute")

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

# --- packages ------------------------------------------------------------------------------
# PUCHA_UPLOAD_MAX_BYTES: largest upload accepted in one request.
MAX_CONTENT_LENGTH = _env_int("PUCHA_UPLOAD_MAX_BYTES", 64 * 1024 * 1024)

# --- audit log -----------------------------------------------------------------------------
# PUCHA_AUDIT_EXPORT_MAX_ROWS: most events one 审计日志 export writes (newest first); a larger
# query is cut there and the file says so, so one click cannot tie up a process for minutes.
AUDIT_EXPORT_MAX_ROWS = _env_int("PUCHA_AUDIT_EXPORT_MAX_ROWS", 100_000)
