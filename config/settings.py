"""Chorus settings, all read from the environment.

Embedded default: with nothing set, Chorus runs on a SQLite file in the project folder and
runs Celery tasks eagerly in the web process. Set ``DATABASE_URL`` (PostgreSQL) and
``CELERY_BROKER_URL`` (Redis) to use real services. See ``docs/configuration.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

# Arrow's allocator for builds, exports and imports. jemalloc keeps the pages it has touched
# and reuses them; the wheel's default (mimalloc) hands fresh pages from the kernel to each
# large table, so a version build and export spent a third of its time in page faults. Read
# by pyarrow when it first allocates, which is after the settings load; the environment wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "chorus-insecure-development-key-only-for-debug-mode-0123456789"

# The key of voter pseudonyms (see sources/pseudonyms.py). It is its own secret so that
# rotating SECRET_KEY leaves every voter key of every export as it was.
PSEUDONYM_KEY = os.environ.get("PSEUDONYM_KEY", "")
if not PSEUDONYM_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("PSEUDONYM_KEY must be set when DEBUG is off")
    PSEUDONYM_KEY = hashlib.sha256(f"chorus-pseudonyms:{SECRET_KEY}".encode()).hexdigest()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "accounts",
    "idempotency",
    "jobs",
    "surveys",
    "annotation",
    "benchmarks",
    "evaluation",
    "interop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside all but the security middleware, so error pages and static files get it too.
    "config.middleware.PermissionsPolicyMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Reviewers and viewers of a study read it but change nothing (accounts.access).
    "accounts.middleware.StudyWriteMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A job that could not be started (broker down) becomes a message on the page, not a 500.
    "jobs.middleware.BackgroundUnavailableMiddleware",
    # Last, as django-axes asks: it turns a lock-out into the log-in page with its message.
    "axes.middleware.AxesMiddleware",
]

if not DEBUG:
    # Production serves collected static files itself; in DEBUG, runserver and the test
    # live server serve them straight from the apps.
    MIDDLEWARE.insert(2, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.language_next",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'chorus.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if os.environ.get("TEST_DATABASE_NAME"):
    # Lets two test runs on one server keep their own databases.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several writers (web process, eager tasks) share the file: wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes first: it refuses a locked-out log-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Where the Django admin lives: "admin/" unless ADMIN_URL names another path (moving it off
# the well-known address keeps it out of drive-by scans; the login and permissions stay).
ADMIN_URL = (os.environ.get("ADMIN_URL") or "admin/").strip("/") + "/"
if ADMIN_URL == "/" or ADMIN_URL.split("/")[0] in {
    "accounts", "annotation", "api", "benchmarks", "evaluation", "healthz", "i18n", "jobs",
    "media", "static", "surveys",
}:  # fmt: skip
    raise ImproperlyConfigured(f"ADMIN_URL must be a path of its own, not {ADMIN_URL!r}")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

# --- Media and job results (config/storage.py, docs/operations.md) ---------------------------
# Uploads, audio clips, frozen dataset versions and job results go through Django's storage
# API. "filesystem" keeps them under MEDIA_ROOT: one machine, or a disk every machine mounts.
# "s3" keeps them in a bucket of an S3-compatible object store (AWS S3, MinIO, Ceph, ...), so
# web processes and workers on different machines see the same files. It is chosen by
# STORAGE_BACKEND=s3, or by setting AWS_STORAGE_BUCKET_NAME alone. Files stay private: no page
# links to the store; every download goes through a Chorus view and its permission check.
STORAGE_BACKEND = (os.environ.get("STORAGE_BACKEND") or "").strip().lower() or (
    "s3" if os.environ.get("AWS_STORAGE_BUCKET_NAME") else "filesystem"
)
if STORAGE_BACKEND == "filesystem":
    MEDIA_STORAGE: dict[str, object] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif STORAGE_BACKEND == "s3":
    if not os.environ.get("AWS_STORAGE_BUCKET_NAME"):
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME")
    # "0" turns certificate checks off (a test store only); a path names a CA bundle.
    _s3_verify_env = os.environ.get("AWS_S3_VERIFY") or ""
    _s3_verify: bool | str | None = _s3_verify_env or None
    if _s3_verify_env.lower() in {"0", "false", "no", "off"}:
        _s3_verify = False
    MEDIA_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
            # Empty for AWS itself; e.g. https://minio.internal:9000 for another store.
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            # Without keys, boto3 looks further: an instance or pod role, ~/.aws, ...
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
            # "path" for most self-hosted stores (MinIO); "virtual" or "auto" on AWS.
            "addressing_style": os.environ.get("AWS_S3_ADDRESSING_STYLE") or None,
            "signature_version": os.environ.get("AWS_S3_SIGNATURE_VERSION", "s3v4"),
            # A key prefix, so that one bucket can hold several deployments.
            "location": os.environ.get("AWS_LOCATION", "").strip("/"),
            # Private objects: no ACL is sent, the bucket's own policy (private) applies, and any
            # URL the storage ever makes is signed and short-lived.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": int(os.environ.get("AWS_QUERYSTRING_EXPIRE", "300")),
            "custom_domain": None,
            # Never replace an object under an existing name: a second upload of the same name
            # gets a new one, as on the local disk.
            "file_overwrite": False,
            # A file read whole (a parquet table, say) spills to a temporary file past this.
            "max_memory_size": int(os.environ.get("AWS_S3_MAX_MEMORY_SIZE", str(16 * 2**20))),
            "verify": _s3_verify,
        },
    }
else:
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be filesystem or s3, not {STORAGE_BACKEND!r}")

STORAGES = {
    "default": MEDIA_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Email: printed to the console in DEBUG unless an SMTP host is configured; production always
# uses SMTP (localhost:25 unless told otherwise).
EMAIL_SMTP_HOST = os.environ.get("EMAIL_HOST", "" if DEBUG else "localhost")
_LOCAL_SMTP = EMAIL_SMTP_HOST == "localhost"
MAILERS = {
    "default": (
        {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": EMAIL_SMTP_HOST,
                "port": int(os.environ.get("EMAIL_PORT", "25" if _LOCAL_SMTP else "587")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", not _LOCAL_SMTP),
            },
        }
        if EMAIL_SMTP_HOST
        else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    )
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "chorus@localhost")

# Base address used in links sent by email (invitations).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# Celery: eager in process unless a broker is configured.
# In eager mode nothing is sent, but Celery still builds a connection: point it at memory so it
# can never reach a broker that happens to run on this machine.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that is down must be noticed within a second or two, so that starting a job answers
# "background work is unavailable" (503) at once instead of hanging the request: short connect
# timeouts and a single quick publish retry. Commands on a connection that went silent give up
# after CELERY_BROKER_SOCKET_TIMEOUT. CELERY_BROKER_TRANSPORT_OPTIONS (JSON) adds or overrides
# transport options, e.g. Redis's visibility_timeout: after it, a task whose worker was killed
# is delivered again (see docs/jobs.md).
CELERY_BROKER_CONNECTION_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECTION_TIMEOUT", "1.5"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": float(os.environ.get("CELERY_BROKER_SOCKET_TIMEOUT", "10")),
    "visibility_timeout": 3600,
    **json.loads(os.environ.get("CELERY_BROKER_TRANSPORT_OPTIONS") or "{}"),
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# Housekeeping for `celery -A config beat` (optional: without beat, expired quota holds are
# given back by the next start in their cell or by `manage.py release_quota_holds`).
CELERY_BEAT_SCHEDULE = {
    "release-expired-quota-holds": {
        "task": "surveys.tasks.release_quota_holds_task",
        "schedule": float(os.environ.get("QUOTA_HOLD_SWEEP_SECONDS", "60")),
    },
    # Without beat, each submit still forgets the expired keys of its own scope.
    "expire-idempotency-keys": {
        "task": "idempotency.tasks.expire_idempotency_keys_task",
        "schedule": 3600.0,
    },
    # Running jobs whose worker died: queued again or failed with the reason (docs/jobs.md).
    "sweep-stale-jobs": {
        "task": "jobs.tasks.jobs_sweep_task",
        "schedule": float(os.environ.get("JOB_SWEEP_SECONDS", "30")),
    },
}


def env_time_limits(name: str) -> dict[str, tuple[float, float]]:
    """``kind=soft:hard,kind=soft`` (seconds) -> {kind: (soft, hard)}; hard is soft + 60 if left
    out."""
    limits: dict[str, tuple[float, float]] = {}
    for part in env_list(name, []):
        kind, _, value = part.partition("=")
        soft, _, hard = value.partition(":")
        try:
            limits[kind.strip()] = (float(soft), float(hard) if hard else float(soft) + 60)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {part!r} is not kind=soft:hard") from None
    return limits


# Background jobs (jobs/, docs/jobs.md). A running job touches its row every
# JOB_HEARTBEAT_SECONDS; after JOB_STALE_SECONDS without a touch its worker is taken for dead
# and the job is run again, at most JOB_MAX_ATTEMPTS times in all, then failed with the reason.
JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", "5"))
JOB_STALE_SECONDS = float(os.environ.get("JOB_STALE_SECONDS", "60"))
JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", "3"))
# A job still pending this long after its task was published has probably lost it (a broker
# that keeps queues in memory and restarted): the sweeper publishes the task again.
JOB_PENDING_REPUBLISH_SECONDS = float(os.environ.get("JOB_PENDING_REPUBLISH_SECONDS", "600"))
# Time limits in seconds, (soft, hard) per job kind. At the soft limit the job is stopped and
# failed ("ran longer than its time limit"); the hard limit is Celery's: a prefork worker kills
# the process, and the sweeper fails any job still running past it. JOB_TIME_LIMITS adds or
# overrides kinds: "benchmark_export=7200:7500,surveys.invitations=3600".
JOB_SOFT_TIME_LIMIT = float(os.environ.get("JOB_SOFT_TIME_LIMIT", "1800"))
JOB_TIME_LIMIT = float(os.environ.get("JOB_TIME_LIMIT", str(JOB_SOFT_TIME_LIMIT + 60)))
JOB_TIME_LIMITS = {
    "benchmark_build": (7200.0, 7260.0),
    "benchmark_export": (7200.0, 7260.0),
    "surveys.invitations": (7200.0, 7260.0),
    "surveys.reminders": (7200.0, 7260.0),
    "selftest": (300.0, 360.0),
    **env_time_limits("JOB_TIME_LIMITS"),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header turns a bad token into a 401, not a 403.
        # (DRF's token authentication with a budget of failed look-ups per address.)
        "config.throttling.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.ApiWriteThrottle"],
    # JSON bodies nested deeper than JSON_MAX_DEPTH are a 400, not a RecursionError (a 500).
    "DEFAULT_PARSER_CLASSES": [
        "config.api.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}

# --- Rate limits (config/throttling.py) and log-in lock-out (django-axes) --------------------
# Histories are kept in the default cache. Local memory suits one web process (make run); with
# several, set CACHE_URL to Redis (redis://host:6379/1) or the database (db://chorus_cache,
# after `manage.py createcachetable`) so that every process counts the same requests.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL.startswith("db://"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CACHE_URL.removeprefix("db://") or "chorus_cache",
        }
    }
elif CACHE_URL in ("", "locmem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured("CACHE_URL must start with redis://, rediss://, db:// or locmem://")

# How many proxies (load balancers) in front of Chorus append to X-Forwarded-For. 0: the
# client address is REMOTE_ADDR and the header is ignored (anyone can send it).
TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXIES

RATE_LIMITS_ENABLED = env_bool("RATE_LIMITS_ENABLED", True)
# "<count>/<s|min|hour|day>"; an empty value turns that one limit off.
RATE_LIMITS = {
    # API writes (POST, PUT, PATCH, DELETE) per user.
    "api_write": os.environ.get("RATE_LIMIT_API_WRITES", "300/min"),
    # Failed look-ups of API tokens and participant links, per address.
    "token_miss": os.environ.get("RATE_LIMIT_TOKEN_MISSES", "30/min"),
    # Survey starts through an open link, per address. A class or a lab behind one address
    # starts many at once: raise it for such fieldwork.
    "open_link_start": os.environ.get("RATE_LIMIT_OPEN_LINK_STARTS", "10/min"),
}
# How many quota places one address may hold at once through open links (0: no limit): a
# household shares an address; a lab, a class or a mobile carrier's shared address may need more.
QUOTA_HOLDS_PER_ADDRESS = int(os.environ.get("QUOTA_HOLDS_PER_ADDRESS", "5"))

# Log-in lock-out: after LOGIN_FAILURE_LIMIT failed log-ins for one username from one address,
# that pair is refused for LOGIN_COOLOFF_MINUTES (attempts are kept in the database).
AXES_ENABLED = env_bool("LOGIN_LOCKOUT_ENABLED", True)
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.throttling.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.login_locked_out"
# Failed attempts are what the lock-out needs; successful log-ins are not logged.
AXES_DISABLE_ACCESS_LOG = True

# Idempotent submits: how long a stored outcome is replayed to a retry with the same key.
IDEMPOTENCY_KEY_HOURS = int(os.environ.get("IDEMPOTENCY_KEY_HOURS", "24"))

# --- Input limits (config/inputs.py, docs/configuration.md) ----------------------------------
# JSON (API bodies, JSONL imports, JSON in CSV cells) nested deeper than this is refused.
JSON_MAX_DEPTH = int(os.environ.get("JSON_MAX_DEPTH", "32"))
# The longest CSV cell an import accepts, in characters (Python's csv module stops at 131,072).
# Exports of other annotation tools (interop/): the largest file (or zip, unpacked) and the most
# records one import reads.
INTEROP_MAX_BYTES = int(os.environ.get("INTEROP_MAX_BYTES", str(512 * 2**20)))
INTEROP_MAX_RECORDS = int(os.environ.get("INTEROP_MAX_RECORDS", "5000000"))
IMPORT_CSV_FIELD_MAX_CHARS = int(os.environ.get("IMPORT_CSV_FIELD_MAX_CHARS", str(2**20)))
# Media of annotation items: the defaults of a new project's limits (each project may change
# its own on its settings page), per file.
ANNOTATION_MEDIA_MAX_BYTES = int(os.environ.get("ANNOTATION_MEDIA_MAX_BYTES", str(100 * 2**20)))
ANNOTATION_MEDIA_MAX_SECONDS = int(os.environ.get("ANNOTATION_MEDIA_MAX_SECONDS", "600"))
# A media zip: the most it may unpack to in all, and the largest ratio of a file's unpacked
# to packed size (audio hardly compresses; a zip bomb packs a thousandfold or more).
ANNOTATION_ZIP_MAX_TOTAL_BYTES = int(
    os.environ.get("ANNOTATION_ZIP_MAX_TOTAL_BYTES", str(2 * 2**30))
)
ANNOTATION_ZIP_MAX_RATIO = int(os.environ.get("ANNOTATION_ZIP_MAX_RATIO", "100"))
ANNOTATION_ZIP_MAX_ENTRIES = int(os.environ.get("ANNOTATION_ZIP_MAX_ENTRIES", "200000"))

SPECTACULAR_SETTINGS = {
    "TITLE": "Chorus API",
    "DESCRIPTION": (
        "Surveys, annotation and benchmark datasets. Errors share one body: "
        '`{"errors": {"<field>": ["<message>", ...]}}`; problems not tied to a field are '
        'listed under `"non_field_errors"`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" or "kind" field with its own choices; name each enum
    # after its model so the schema has no ambiguous names.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "jobs.models.JobStatus",
        "AssignmentStatusEnum": "annotation.models.AssignmentStatus",
        "ItemKindEnum": "annotation.models.ItemKind",
        "InvitationStatusEnum": "surveys.models.InvitationStatus",
        "SurveyStatusEnum": "surveys.models.SurveyStatus",
        "ResponseStatusEnum": "surveys.models.ResponseStatus",
        "QuestionKindEnum": "surveys.models.QuestionKind",
        "DrawKindEnum": "surveys.models.DrawKind",
        "SourceKindEnum": "benchmarks.models.SourceKind",
        "StudyRoleEnum": "accounts.models.StudyRole",
        "MembershipInvitationStatusEnum": "accounts.models.InvitationStatus",
        "RunKindEnum": "evaluation.models.RunKind",
        "RunStatusEnum": "evaluation.models.RunStatus",
        "ApiStyleEnum": "evaluation.models.ApiStyle",
        "LanguageEnum": ["ko", "en"],
    },
}

# Security. Production (DEBUG off) serves over HTTPS only.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "media-src": [CSP.SELF, "blob:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
# Browser features no page of Chorus uses, switched off for every page and anything it embeds
# (config.middleware). Playing the annotators' audio clips needs no permission (playback
# starts from a click or a key), so nothing here touches it.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # django-axes: lock-outs (warnings), not its banner and every failed attempt.
        "axes": {"level": os.environ.get("AXES_LOG_LEVEL", "WARNING")},
    },
}
