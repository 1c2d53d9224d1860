"""Django settings, read from the environment only.

With nothing set, the app runs on the *embedded default*: an SQLite file, a file-system
Celery broker and Django's database cache, all under ``TRIAGE_DATA_DIR`` (``./var``).
With ``DATABASE_URL`` / ``REDIS_URL`` set it uses PostgreSQL (psycopg 3) and Redis.
Secrets never have a default when ``DEBUG`` is off.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
DATA_DIR = Path(env.str("TRIAGE_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (DEBUG=1 allows a development key)."
        )
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105 - only ever used with DEBUG on

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",  # serves Swagger UI's files itself (no CDN, which the CSP would block): /api/docs
    "csp",
    "axes",
    "triage.apps.TriageConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # programs get the JSON error shape for any error; then one input policy for every request
    "triage_site.middleware.MachineErrorMiddleware",
    "triage_site.middleware.InputPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # last, as django-axes asks: counts failed logins and locks out brute force
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "triage_site.urls"
WSGI_APPLICATION = "triage_site.wsgi.application"
ASGI_APPLICATION = "triage_site.asgi.application"

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

# --- Database: PostgreSQL via DATABASE_URL, else an SQLite file --------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            # a file, not memory, so a live worker process can share the test database
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web and worker share the file: wait for locks instead of failing, write-ahead log
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# a connection lives across requests (SQLite too: reopening the file and its PRAGMAs cost the
# embedded default ~3.5 ms per /v1 request, bench/v1_overhead.py)
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker and shared cache: Redis via REDIS_URL, else file broker + database cache ------
REDIS_URL = env.str("REDIS_URL", default="")
BROKER_VISIBILITY_TIMEOUT = 3600  # seconds before Redis hands an unacknowledged task to another worker
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": env.str("REDIS_CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": "triage",
            # Redis away (restarting, say): reads answer "nothing there" and writes are dropped, each
            # logged, instead of failing the request; the routing state is advisory (each process
            # falls back to the breaker records it last knew, no latency records), and /readyz
            # reports the cache as down.
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "IGNORE_EXCEPTIONS": True},
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    CELERY_BROKER_URL = REDIS_URL
    # Longer than a run can last (see TRIAGE_TASK_SOFT_TIME_LIMIT), so a running task is never
    # handed to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": BROKER_VISIBILITY_TIMEOUT}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "triage_shared_cache",
            "KEY_PREFIX": "triage",
        }
    }
    BROKER_DIR = DATA_DIR / "broker"
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Celery closes every database connection before and after each task unless this is set (then it
# closes them every 2 x N tasks); with threads that meant one new PostgreSQL session per ticket.
# Django still drops a connection older than CONN_MAX_AGE or broken (close_old_connections).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# The worker logs through LOGGING below (JSON lines with each model call's fields in production);
# Celery would otherwise replace the root handler with its own text format and drop those fields.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# No remote control (broadcast commands such as `celery inspect`): when Redis restarts, kombu tears
# down the broadcast consumer's channel and the worker can exit with "Unrecoverable error:
# 'NoneType' object has no attribute 'hostname'" (10 exits in 10 runs in a reproduction here, with or
# without --without-gossip/--without-mingle; 0 in 30 restarts with this off). The worker then rides
# out a Redis restart by itself. Its health shows as triage_queue_depth in /metrics.
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# How often the sweep looks for tickets whose run died (their lease ran out) and hands them on.
TRIAGE_SWEEP_SECONDS = env.float("TRIAGE_SWEEP_SECONDS", default=15.0)
# Deliveries (webhooks, write-back) have their own queue, which every worker also consumes (a worker
# without -Q takes all of CELERY_TASK_QUEUES): a delivery waits for a free worker slot, not behind
# the whole backlog of tickets still to triage (bench/webhooks.py: p95 settle-to-delivery 26 s with
# one queue when tickets arrived faster than the worker triaged them).
CELERY_TASK_QUEUES = (Queue("celery", routing_key="celery"), Queue("deliveries", routing_key="deliveries"))
CELERY_TASK_ROUTES = {"triage.pipeline.tasks.send_delivery_task": {"queue": "deliveries"}}
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-tickets": {
        "task": "triage.pipeline.tasks.sweep_stuck_tickets_task",
        "schedule": TRIAGE_SWEEP_SECONDS,
    },
    "send-due-deliveries": {
        "task": "triage.pipeline.tasks.send_due_deliveries_task",
        "schedule": env.float("TRIAGE_DELIVERY_SWEEP_SECONDS", default=5.0),
    },
}
# Retraining the built-in local models on agents' labels (`manage.py retrain_local`): when beat runs
# it, as a cron line (minute hour day-of-month month day-of-week, UTC by default); empty: never.
TRIAGE_RETRAIN_CRON = env.str("TRIAGE_RETRAIN_CRON", default="30 3 * * 0")
if TRIAGE_RETRAIN_CRON.strip():
    from celery.schedules import crontab

    _cron = TRIAGE_RETRAIN_CRON.split()
    if len(_cron) != 5:
        raise ImproperlyConfigured(f"TRIAGE_RETRAIN_CRON needs 5 fields, got {TRIAGE_RETRAIN_CRON!r}.")
    _minute, _hour, _day, _month, _weekday = _cron
    CELERY_BEAT_SCHEDULE["retrain-local-models"] = {
        "task": "triage.pipeline.tasks.retrain_local_models_task",
        "schedule": crontab(_minute, _hour, day_of_week=_weekday, day_of_month=_day, month_of_year=_month),
    }
# A ticket's category and urgency count as agents' labels once it was triaged this many days ago,
# nobody corrected them and its reply was approved unedited (triage.services.labels).
TRIAGE_LABEL_CONFIRM_DAYS = env.int("TRIAGE_LABEL_CONFIRM_DAYS", default=7)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- Auth, i18n, static --------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login rate limiting: 5 failures for one username from one address locks it for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"  # counts in the shared cache, no extra tables
# Reverse proxies in front of the app that append to X-Forwarded-For (0: none, the header is ignored).
# The client's address is then the N-th from the right; lockouts, per-address rate limits and the
# /metrics loopback check all use it (triage/ops/client_ip.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more (the reverse proxies in front).")
AXES_CLIENT_IP_CALLABLE = "triage.ops.client_ip.client_ip"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- Email: only password reset links are sent --------------------------------------------------
# EMAIL_URL sets it up (smtp+tls://user:password@smtp.example.com:587, consolemail:// prints the
# messages), or Django's own EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
# EMAIL_USE_TLS / EMAIL_USE_SSL, EMAIL_BACKEND variables. With none of them there is no mail server:
# the password reset pages answer 404 and the login page links to none (each request would end in an
# SMTP error). PASSWORD_RESET_ENABLED=0 turns them off with mail set up.
EMAIL_URL = env.str("EMAIL_URL", default="")
_email = env.email_url_config(EMAIL_URL) if EMAIL_URL else {}
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND", default=_email.get("EMAIL_BACKEND") or "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = env.str("EMAIL_HOST", default=_email.get("EMAIL_HOST") or "")
EMAIL_PORT = env.int("EMAIL_PORT", default=_email.get("EMAIL_PORT") or 25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default=_email.get("EMAIL_HOST_USER") or "")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default=_email.get("EMAIL_HOST_PASSWORD") or "")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=bool(_email.get("EMAIL_USE_TLS")))
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=bool(_email.get("EMAIL_USE_SSL")))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")
EMAIL_CONFIGURED = bool(EMAIL_HOST) or EMAIL_BACKEND != "django.core.mail.backends.smtp.EmailBackend"
PASSWORD_RESET_ENABLED = env.bool("PASSWORD_RESET_ENABLED", default=EMAIL_CONFIGURED)
# Reset requests an hour from one client address, and for one email address (beyond: no email).
PASSWORD_RESET_RATE_LIMIT = env.int("PASSWORD_RESET_RATE_LIMIT", default=5)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)

# --- Security: safe by default when DEBUG is off -----------------------------------------
HTTPS = env.bool("HTTPS", default=not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_REDIRECT_EXEMPT = [
    r"^healthz$",
    r"^readyz$",
    r"^metrics$",
]  # probes talk plain HTTP inside the network
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts only from this site (htmx and Chart.js are vendored); no framing; forms post here only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],  # htmx's indicator styles and the admin's style attributes
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Logging ------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# JSON lines in production (one object per event, for log shippers), readable text in development.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
    },
}

# --- Product settings ---------------------------------------------------------------------
# Name of the router tickets use when a request names none.
TRIAGE_DEFAULT_ROUTER = env.str("TRIAGE_DEFAULT_ROUTER", default="triage-router")
# The triage article's client sends no API key: 1 opens /triage and /triage/batch without one.
# Each client address may then make TRIAGE_COMPAT_OPEN_RATE_LIMIT requests a minute there. Anyone
# who can reach the app could spend model money through them, so with DEBUG off it also takes
# TRIAGE_COMPAT_OPEN_IN_PRODUCTION=1 (a deliberate choice, e.g. behind a private network).
TRIAGE_COMPAT_OPEN = env.bool("TRIAGE_COMPAT_OPEN", default=False)
TRIAGE_COMPAT_OPEN_IN_PRODUCTION = env.bool("TRIAGE_COMPAT_OPEN_IN_PRODUCTION", default=False)
TRIAGE_COMPAT_OPEN_RATE_LIMIT = env.int("TRIAGE_COMPAT_OPEN_RATE_LIMIT", default=30)
if TRIAGE_COMPAT_OPEN and not DEBUG and not TRIAGE_COMPAT_OPEN_IN_PRODUCTION:
    raise ImproperlyConfigured(
        "TRIAGE_COMPAT_OPEN=1 opens /triage and /triage/batch to anyone without an API key. With DEBUG "
        "off, also set TRIAGE_COMPAT_OPEN_IN_PRODUCTION=1 to confirm, or give the client an API key."
    )
# The only environment variables a provider may name as its API key. An admin edits providers'
# base URLs, so a provider naming any variable (DATABASE_URL, SECRET_KEY) would send its value as a
# Bearer token to a URL of the admin's choosing: only these are ever read (others are a form error).
TRIAGE_PROVIDER_KEY_ENVS = env.list(
    "TRIAGE_PROVIDER_KEY_ENVS", default=["DO_MODEL_ACCESS_KEY", "OPENAI_API_KEY"]
)
# --- Connectors: inbound email and helpdesks, write-back, outbound webhooks -------------------
# The only environment variables a connector or webhook may name for its secrets and credentials
# (the same reasoning as TRIAGE_PROVIDER_KEY_ENVS: admins edit the URLs these values are sent to).
TRIAGE_CONNECTOR_SECRET_ENVS = env.list(
    "TRIAGE_CONNECTOR_SECRET_ENVS",
    default=[
        "POSTMARK_INBOUND_TOKEN",
        "MAILGUN_SIGNING_KEY",
        "SENDGRID_INBOUND_TOKEN",
        "ZENDESK_EMAIL",
        "ZENDESK_API_TOKEN",
        "ZENDESK_WEBHOOK_SECRET",
        "FRESHDESK_API_KEY",
        "FRESHDESK_WEBHOOK_SECRET",
        "TRIAGE_WEBHOOK_SECRET",
    ],
)
# Largest inbound request (an email with its attachments, base64 in Postmark's JSON).
TRIAGE_INBOUND_MAX_BYTES = env.int("TRIAGE_INBOUND_MAX_BYTES", default=40 * 1024 * 1024)
# Where attachments go when a connector keeps them.
TRIAGE_ATTACHMENTS_DIR = Path(env.str("TRIAGE_ATTACHMENTS_DIR", default=str(DATA_DIR / "attachments")))
# Deliveries (webhooks and write-back): retried with exponential backoff from BASE to MAX seconds
# between attempts, given up after GIVE_UP_HOURS; each request waits at most TIMEOUT seconds.
TRIAGE_DELIVERY_BACKOFF_BASE_SECONDS = env.float("TRIAGE_DELIVERY_BACKOFF_BASE_SECONDS", default=5.0)
TRIAGE_DELIVERY_BACKOFF_MAX_SECONDS = env.float("TRIAGE_DELIVERY_BACKOFF_MAX_SECONDS", default=3600.0)
TRIAGE_DELIVERY_GIVE_UP_HOURS = env.float("TRIAGE_DELIVERY_GIVE_UP_HOURS", default=24.0)
TRIAGE_DELIVERY_TIMEOUT_SECONDS = env.float("TRIAGE_DELIVERY_TIMEOUT_SECONDS", default=10.0)
# The public address of this app, for links in helpdesk notes and webhook bodies ("" leaves them out).
TRIAGE_PUBLIC_URL = env.str("TRIAGE_PUBLIC_URL", default="").rstrip("/")

# /triage and /triage/batch answer 504 (in the error shape) when triage takes longer than this;
# the tickets keep going. gunicorn's timeout (triage_site/gunicorn.conf.py) must stay above it.
TRIAGE_SYNC_DEADLINE_SECONDS = env.float("TRIAGE_SYNC_DEADLINE_SECONDS", default=150.0)
# Requests per minute per API key (a key may override it).
TRIAGE_API_RATE_LIMIT = env.int("TRIAGE_API_RATE_LIMIT", default=600)
# /v1/chat/completions bounds: max_tokens (or max_completion_tokens) may not exceed this nor the
# target's context window (a router: its largest model's); at most this many messages, and this
# many characters of message content in all.
TRIAGE_V1_MAX_TOKENS = env.int("TRIAGE_V1_MAX_TOKENS", default=16384)
TRIAGE_V1_MAX_MESSAGES = env.int("TRIAGE_V1_MAX_MESSAGES", default=100)
TRIAGE_V1_MAX_CHARS = env.int("TRIAGE_V1_MAX_CHARS", default=256 * 1024)
# Bearer token for /metrics; without one, /metrics answers loopback requests only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# A run owns its ticket under a lease it renews every third of this while its model calls are in
# flight; a run whose worker died stops renewing, and the sweep hands its ticket to another worker
# once the lease has run out (so a crashed ticket settles within this + TRIAGE_SWEEP_SECONDS + its
# remaining calls).
TRIAGE_RUN_LEASE_SECONDS = env.float("TRIAGE_RUN_LEASE_SECONDS", default=30.0)
# A queued ticket whose message was lost (a broker flushed without persistence) is sent again after this;
# after the shorter grace when the broker's triage queue is empty (so its message can't be waiting).
TRIAGE_RESEND_QUEUED_SECONDS = env.float("TRIAGE_RESEND_QUEUED_SECONDS", default=300.0)
TRIAGE_RESEND_QUEUED_EMPTY_SECONDS = env.float("TRIAGE_RESEND_QUEUED_EMPTY_SECONDS", default=30.0)
# Threads per worker process that run the steps of its tickets (each keeps its database connection
# open): two per ticket in flight are busy at once. A worker process holds up to --concurrency +
# this many PostgreSQL connections: budget their sum over all processes under max_connections.
TRIAGE_STEP_THREADS = env.int("TRIAGE_STEP_THREADS", default=16)
# Redeliveries of one ticket's triage (after crashes) before it is marked failed.
TRIAGE_MAX_RUNS = env.int("TRIAGE_MAX_RUNS", default=3)
# Time limit of one ticket's triage run: no step starts after it (one not started fails with the
# reason; a call already started ends by its router's request deadline, at most 900 s). The run
# enforces it itself: Celery's own time limits (also set on the task, soft = this, hard 60 s later)
# do nothing under the thread pool. A run therefore ends within this + 900 s + 60 s, which must stay
# under the broker's visibility timeout, or a message still being worked on would be redelivered.
TRIAGE_TASK_SOFT_TIME_LIMIT = env.int("TRIAGE_TASK_SOFT_TIME_LIMIT", default=600)
TRIAGE_TASK_HARD_TIME_LIMIT = TRIAGE_TASK_SOFT_TIME_LIMIT + 60
if not 0 < TRIAGE_TASK_SOFT_TIME_LIMIT < BROKER_VISIBILITY_TIMEOUT - 900 - 60:
    raise ImproperlyConfigured(
        f"TRIAGE_TASK_SOFT_TIME_LIMIT must be between 1 and {BROKER_VISIBILITY_TIMEOUT - 961} seconds "
        f"(a run must end before the broker's visibility timeout, {BROKER_VISIBILITY_TIMEOUT} s)"
    )
# A step whose worker died while its model call was in flight is settled as interrupted (the ticket
# needs attention; an agent can re-run the step) instead of asked again, because the lost call may
# have been billed. 1 asks again automatically: the ticket completes, that call is paid twice.
TRIAGE_REASK_INTERRUPTED_STEPS = env.bool("TRIAGE_REASK_INTERRUPTED_STEPS", default=False)
