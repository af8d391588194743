"""Arbiter settings: one module, driven by the environment.

With nothing set, Arbiter runs on the embedded default: a SQLite file under ``var/``,
a local-memory cache, Celery tasks executed in-process and the offline model provider.
``ARBITER_ENV=production`` switches on the production profile, which refuses to start
without a real ``SECRET_KEY`` and passes ``manage.py check --deploy``.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

from governance.logging import configure_logging
from governance.ratelimit import Rate

# Lets ModelAdmin[Model] and friends be subscripted at run time, as the type stubs expect.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

ARBITER_ENV = env.str("ARBITER_ENV", default="development")
if ARBITER_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured(f"ARBITER_ENV must be development, production or test, not {ARBITER_ENV!r}")
PRODUCTION = ARBITER_ENV == "production"


def _secret(name: str) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker/K8s secrets)."""
    value = env.str(name, default="")
    if value:
        return str(value)
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text().strip()
    return None


def _dev_secret_key() -> str:
    # A per-checkout key kept under var/ so dev sessions survive restarts; never used in production.
    VAR_DIR.mkdir(exist_ok=True)
    path = VAR_DIR / "dev_secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret("SECRET_KEY") or ""
if PRODUCTION:
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured("production needs SECRET_KEY (or SECRET_KEY_FILE) of at least 50 random characters")
elif not SECRET_KEY:
    SECRET_KEY = _dev_secret_key()

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production")

ALLOWED_HOSTS: list[str] = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver", "[::1]"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("production needs ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django_jsonform",
    "simple_history",
    "axes",
    "governance",
    "costs",
    "guardrails",
    "orchestration",
    "evals",
]

MIDDLEWARE = [
    "governance.middleware.RequestSizeLimitMiddleware",
    "governance.middleware.NulInAddressMiddleware",
    "governance.middleware.TraceContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its "locked out" page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'arbiter.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database that does not answer must fail a request (503) in seconds, not in minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the dev server and in-process tasks write side by side.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;",
            # IMMEDIATE takes the write lock when a transaction starts, so two writers queue on the
            # busy timeout instead of deadlocking on a read-to-write upgrade ("database is locked").
            "transaction_mode": "IMMEDIATE",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, breaker state, rate limits --------------------------------------------------
# Redis is optional at run time: when it cannot be reached, the cache, the rate limiter and
# the breakers fall back to per-process memory and say so (governance.degradation, README
# "Graceful degradation"). Short timeouts keep a hung Redis from stalling requests.
REDIS_URL: str | None = env.str("REDIS_URL", default="") or None
ARBITER_REDIS_TIMEOUT = env.float("ARBITER_REDIS_TIMEOUT", default=0.5)
# While a dependency is down, one caller per this many seconds (per process) tries it again.
ARBITER_DEPENDENCY_RETRY_SECONDS = env.float("ARBITER_DEPENDENCY_RETRY_SECONDS", default=2.0)
if ARBITER_REDIS_TIMEOUT <= 0 or ARBITER_DEPENDENCY_RETRY_SECONDS <= 0:
    raise ImproperlyConfigured("ARBITER_REDIS_TIMEOUT and ARBITER_DEPENDENCY_RETRY_SECONDS must be > 0")
# Outbound provider quotas (orchestration.services.quotas): with Redis unreachable, each process
# admits this share of every quota, so the processes calling providers together stay within it
# (set it to 1 / their number).
ARBITER_QUOTA_LOCAL_SHARE = env.float("ARBITER_QUOTA_LOCAL_SHARE", default=0.25)
if not 0 < ARBITER_QUOTA_LOCAL_SHARE <= 1:
    raise ImproperlyConfigured("ARBITER_QUOTA_LOCAL_SHARE must be in (0, 1]")


def redis_caches(url: str | None, *, timeout_s: float) -> dict[str, Any]:
    """``CACHES`` for a Redis URL (fail-soft: see governance.cache), or local memory without one."""
    if not url:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "arbiter"}}
    return {
        "default": {
            "BACKEND": "governance.cache.FailSoftRedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s, "health_check_interval": 30},
        }
    }


CACHES = redis_caches(REDIS_URL, timeout_s=ARBITER_REDIS_TIMEOUT)

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL: str | None = env.str("CELERY_BROKER_URL", default="") or None
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or (REDIS_URL if CELERY_BROKER_URL else None)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=14 * 60)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {}  # filled by the apps' AppConfig.ready()
CELERY_TIMEZONE = "UTC"

# --- Auth, sessions, security ----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Admin sign-in throttling (django-axes, see governance/admin/lockout.py): per username + client address.
AUTHENTICATION_BACKENDS = [
    "governance.admin.lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ARBITER_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ARBITER_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # keep failures only; successful sign-ins are in last_login
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_VERBOSE = False  # our own log line (admin.login_locked_out) says what happened
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

# --- API ------------------------------------------------------------------------------------
ARBITER_MAX_REQUEST_BYTES = env.int("ARBITER_MAX_REQUEST_BYTES", default=4 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = ARBITER_MAX_REQUEST_BYTES
ARBITER_API_RATE = env.str("ARBITER_API_RATE", default="6000/min")
try:
    Rate.parse(ARBITER_API_RATE)
except ValueError as exc:
    raise ImproperlyConfigured(f"ARBITER_API_RATE: {exc}") from exc

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["governance.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["governance.auth.HasApiKeyScopes"],
    "DEFAULT_THROTTLE_CLASSES": ["governance.auth.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["governance.api.parsers.BoundedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "governance.api.negotiation.ApiContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "governance.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Arbiter API",
    "DESCRIPTION": (
        "Governance control plane for AI features: guard checks, decision envelopes, "
        "usage and costs. Authenticate with `Authorization: Bearer <api key>`.\n\n"
        "Every error is JSON `{code, message, detail}` with a stable `code`, whatever format was asked for. "
        "Request bodies are JSON nested at most 64 levels deep; strings may not contain NUL (U+0000) or lone "
        "surrogates (neither can be stored or hashed); free-form fields are bounded (16 KiB and 32 levels, "
        "1 MiB for envelope input/output). Unknown body fields and query parameters are ignored."
    ),
    "VERSION": "1.0.0",
    # 3.1 is JSON Schema 2020-12, so the envelope's published schema is the POST body's schema as is.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {"ApiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "arb_<prefix>_<secret>"}}
    },
    "SECURITY": [{"ApiKey": []}],
    # The error shape and the 4xx answers every operation shares (governance/api/openapi.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "governance.api.openapi.document_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ReviewActionEnum": "governance.models.provenance.ReviewAction",
        "ReviewStateEnum": "governance.models.provenance.ReviewState",
    },
}

# --- Logging: JSON lines with the trace id bound by the middleware ---------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "console")
# Django's dictConfig is replaced by one structlog set-up shared by web, workers and commands.
LOGGING_CONFIG = None
configure_logging(level=LOG_LEVEL, fmt=LOG_FORMAT)
# django-axes narrates every sign-in at INFO; our own lines (admin.login_locked_out) say what matters.
logging.getLogger("axes").setLevel(logging.WARNING)

# --- Arbiter ----------------------------------------------------------------------------------------
ARBITER_REQUIRE_SERVICES = env.bool("ARBITER_REQUIRE_SERVICES", default=False)
ARBITER_ALERT_DEDUPE_SECONDS = env.int("ARBITER_ALERT_DEDUPE_SECONDS", default=3600)
# /metrics needs `Authorization: Bearer <token>` when a token is set. Production refuses to start
# without one: "bound to loopback" protects nothing behind a reverse proxy on the same host.
ARBITER_METRICS_TOKEN = _secret("ARBITER_METRICS_TOKEN")
if PRODUCTION and len(ARBITER_METRICS_TOKEN or "") < 32:
    raise ImproperlyConfigured(
        "production needs ARBITER_METRICS_TOKEN (or ARBITER_METRICS_TOKEN_FILE) of at least 32 characters; "
        "Prometheus sends it as a bearer token (scrape config: authorization.credentials)"
    )
ARBITER_GUARD_ERROR_RATE_ALERT = env.float("ARBITER_GUARD_ERROR_RATE_ALERT", default=0.2)
ARBITER_GUARD_ERROR_RATE_MIN_CHECKS = env.int("ARBITER_GUARD_ERROR_RATE_MIN_CHECKS", default=20)

# --- Provenance -------------------------------------------------------------------------------------
# One span row per authenticated API request (see bench/provenance.py for what it costs).
ARBITER_REQUEST_SPANS = env.bool("ARBITER_REQUEST_SPANS", default=True)
# >0: request spans go to a per-process background writer that inserts in batches this often (ms),
# so the request never waits for the database; 0: one INSERT in the request (dev and tests).
ARBITER_SPAN_BUFFER_MS = env.int("ARBITER_SPAN_BUFFER_MS", default=200 if PRODUCTION else 0)
# Export Arbiter's own spans to an OTLP/HTTP collector (e.g. http://collector:4318); off when empty.
OTEL_EXPORTER_OTLP_ENDPOINT: str | None = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="") or None
