"""ePortal settings: one module, every deployment choice read from the environment.

Every variable is documented in docs/configuration.md. The embedded default (``make run``)
needs none of them beyond ``DEBUG=1``; production (docker-compose.yml) sets them all.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Core

DEBUG = envbool("DEBUG", False)

_INSECURE_KEY_PREFIX = "django-insecure-"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = _INSECURE_KEY_PREFIX + "dev-only-key-never-use-in-production"
if not DEBUG and (
    len(SECRET_KEY) < 50 or SECRET_KEY.startswith(_INSECURE_KEY_PREFIX) or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a long random value (50+ characters) when DEBUG is off. "
        "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'"
    )

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_ID = 1

INSTALLED_APPS = [
    "eportal.apps.EPortalAdminConfig",  # django.contrib.admin with our admin site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",
    "eportal",
    "clinics",
    "identification",
    "delegation",
    "booking",
    "econsult",
    "sms",
    "ops",
    "oauth2_provider",
    "fhirapi",
]

MIDDLEWARE = [
    "eportal.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "eportal.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "eportal.middleware.StaffTwoFactorMiddleware",
    "identification.session.PatientSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "eportal.urls"
WSGI_APPLICATION = "eportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "eportal.context_processors.patient_services",
            ],
            # capfirst keeps "ePortal" as it is spelt (the admin capitalises model names).
            "builtins": ["eportal.templatetags.product_name"],
        },
    },
]

# Database

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's PostgreSQL backend with a health check that needs no round trip (eportal.db).
    DATABASES["default"]["ENGINE"] = "eportal.db"
    # Server-side parameters and prepared statements (psycopg 3): a statement that runs
    # again on the same connection skips PostgreSQL's parse and plan, which was a large part
    # of the database's time per page. Set DB_PREPARE_THRESHOLD=0 behind a transaction-
    # pooling proxy (PgBouncer < 1.21, or without max_prepared_statements) that cannot keep
    # prepared statements; docker-compose.yml does (docs/operations.md, "PgBouncer").
    _prepare = envint("DB_PREPARE_THRESHOLD", 2)
    if _prepare > 0:
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": _prepare}
        )
    else:
        # Behind transaction pooling a server-side cursor (QuerySet.iterator()) would outlive
        # the transaction its server connection was lent for.
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # BEGIN IMMEDIATE: a transaction takes SQLite's write lock when it starts, so that a
    # check-and-record (the login limits) cannot interleave with another, and two writers
    # never deadlock upgrading a read lock.
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache (Redis when REDIS_URL is set, else in-process memory)

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "eportal.cache.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
    # Sessions stay in the database (the record) but are read through the cache: a Redis GET
    # instead of a query on every request. Nothing deletes session rows behind the store.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Staff accounts (django-allauth)

AUTH_USER_MODEL = "clinics.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_ADAPTER = "clinics.adapters.StaffAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = False
# Two-factor authentication (TOTP) is required before staff reach the admin site.
EPORTAL_STAFF_MFA_REQUIRED = envbool("EPORTAL_STAFF_MFA_REQUIRED", True)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "ePortal"
# Accept the previous and next 30-second code too (RFC 6238's allowance for clock drift).
MFA_TOTP_TOLERANCE = 1
# allauth's rate limits (failed logins, password resets) are on with their defaults.
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "admin:index"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

# The FHIR API's clients (docs/api.md): OAuth 2 client credentials, django-oauth-toolkit.
# One Application per clinic system (fhirapi.ApiClient ties it to its clinic); a token lives
# ten minutes, and a client may ask only for the scopes its registration names.
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": envint("FHIR_ACCESS_TOKEN_SECONDS", 600),
    "OAUTH2_VALIDATOR_CLASS": "fhirapi.oauth.ClientValidator",
    "SCOPES_BACKEND_CLASS": "fhirapi.oauth.ScopesBackend",
    # The OAuth 2.0 Security BCP (RFC 9700) in full, ahead of the toolkit's 4.0 defaults.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # No redirects at all (client credentials); none over plain http.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
# The toolkit's own models (named here so migrations can refer to them as swappable).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"

# Email (password resets for staff)

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ePortal <noreply@localhost>")

# Internationalisation

LANGUAGE_CODE = "nb"
LANGUAGES = [
    ("nb", _("Norwegian Bokmål")),
    ("nn", _("Norwegian Nynorsk")),
    ("en", _("English")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Each language's own date formats ("2. desember 2026", "2 December 2026"); clinics.dates
# builds the dates in words from them.
FORMAT_MODULE_PATH = ["eportal.formats"]
LANGUAGE_COOKIE_NAME = "eportal_language"
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Europe/Oslo"
USE_I18N = True
USE_TZ = True

# Static files (served by whitenoise, hashed names in production)

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# eConsultation attachments: never under STATIC_ROOT or a media root the web server serves;
# they leave only through econsult's access-checked download view. Any Django storage works
# (ECONSULT_STORAGE_BACKEND, e.g. django-storages' S3 backend with its own OPTIONS).
ECONSULT_FILES_ROOT = Path(os.environ.get("ECONSULT_FILES_ROOT", BASE_DIR / "var" / "econsult"))
_econsult_backend = os.environ.get(
    "ECONSULT_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "econsult": {
        "BACKEND": _econsult_backend,
        "OPTIONS": {"location": ECONSULT_FILES_ROOT}
        if _econsult_backend.endswith("FileSystemStorage")
        else {},
    },
    "staticfiles": {
        "BACKEND": os.environ.get(
            "STATICFILES_BACKEND", "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Forms

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Security headers

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
# The cookie ends with the browser; on the server a session ends after at most the patients'
# absolute lifetime (identification.session also ends it after 15 idle minutes).
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = envint("EPORTAL_PATIENT_MAX_AGE", 8 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = 0 if DEBUG else envint("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if envbool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The reverse proxies (addresses or CIDRs) whose X-Forwarded-For names the client. Behind a
# proxy that is not listed, every client shares the proxy's address, and so its rate limits.
EPORTAL_TRUSTED_PROXIES = envlist("EPORTAL_TRUSTED_PROXIES")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# Celery (tasks run in-process when no REDIS_URL is configured)

# The in-process default names a host, or kombu warns "No hostname was supplied" on start.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://localhost/")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
# JSON only: a message is data (ids), never a pickled object the worker would load.
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Acknowledged after running, and re-delivered when the worker dies, only for the tasks
# that are safe to run twice: each says so itself (acks_late, reject_on_worker_lost).
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = False
# One message at a time per process: a slow SMS send does not hold others back.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task still running after this many seconds is killed (its process is replaced); tasks
# that need less say so themselves.
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 300)
# Redis re-delivers an unacknowledged message after this many seconds: it must be longer
# than any task runs and any retry countdown (no task uses a long ETA: reminders are rows
# swept by beat), or a late-acknowledged task would run twice (tests/test_celery.py).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 3600),
}
# The daily cycle restarts the worker processes (the pool) gracefully: each finishes its
# task, exits and is replaced by a fresh one.
CELERY_WORKER_POOL_RESTARTS = True
CELERY_TIMEZONE = TIME_ZONE
# The beat schedule, in one place (times in CELERY_TIMEZONE, Europe/Oslo).
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "sms-recover-stale": {"task": "sms.tasks.recover_stale_sms", "schedule": 300},
    # Booking confirmations and cancellations wait up to this long for a worker instead of
    # costing the booking request a broker round trip (login codes never wait).
    "sms-dispatch": {
        "task": "sms.tasks.dispatch_sms",
        "schedule": envint("SMS_DISPATCH_INTERVAL", 5),
    },
    "booking-reminders": {"task": "booking.tasks.send_booking_reminders", "schedule": 900},
    # Parents hear 30 days ahead that they can no longer act for a child who turns 12
    # (docs/acting-for-others.md); once per child and birthday, whatever the runs.
    "clinics-child-turning-12": {
        "task": "clinics.tasks.send_child_turning_12_notices",
        "schedule": crontab(hour=10, minute=0),
    },
    # The waitlist (docs/booking.md): expire held offers, offer freed slots. The source of
    # truth; the run enqueued after a slot frees up only makes the offer come sooner. A run
    # not taken within its minute is replaced by the next one.
    "booking-slot-offers": {
        "task": "booking.tasks.sweep_slot_offers",
        "schedule": crontab(minute="*"),
        "options": {"expires": 50},
    },
    # The daily health cycle (docs/operations.md): checks, the slot horizon (it replaces the
    # nightly slot generation), housekeeping, a graceful restart of the worker processes.
    # At most once per local day (ops.services).
    "ops-health-cycle": {
        "task": "ops.tasks.health_cycle",
        "schedule": crontab(hour=5, minute=0),
    },
    # beat -> broker -> worker -> database, at the start of every minute. A heartbeat not
    # taken within the minute is worth nothing: it expires rather than fill a gap late.
    "ops-heartbeat": {
        "task": "ops.tasks.heartbeat",
        "schedule": crontab(minute="*"),
        "options": {"expires": 50},
    },
    "ops-check-incidents": {
        "task": "ops.tasks.check_incidents",
        "schedule": crontab(minute="*"),
        "options": {"expires": 50},
    },
}

# SMS

SMS_BACKEND = os.environ.get("SMS_BACKEND", "sms.backends.console.ConsoleBackend")
# SMS that may wait (booking confirmations, cancellations) are handed to the workers by the
# dispatcher on beat ("sms-dispatch" above). Without a beat, when tasks run in-process, the
# dispatcher runs right after the commit that queued them instead.
SMS_DISPATCH_AT_COMMIT = envbool("SMS_DISPATCH_AT_COMMIT", CELERY_TASK_ALWAYS_EAGER)
# Seconds a row marked 'sending' stays its worker's; after that the worker is taken for dead
# and the SMS is sent again (at least once, docs/sms.md). Longer than the send task's hard
# time limit (90 s), which ends any live sender first.
SMS_SENDING_LEASE = envint("SMS_SENDING_LEASE", 120)
SMS_FILE_PATH = os.environ.get("SMS_FILE_PATH", str(BASE_DIR / "var" / "sms"))
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM = os.environ.get("TWILIO_FROM", "")
TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "")
TWILIO_TIMEOUT = float(os.environ.get("TWILIO_TIMEOUT", "10"))

# OpenID Connect (patient BankID login; names as mozilla-django-oidc reads them)

OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES", "openid")
OIDC_OP_ISSUER = os.environ.get("OIDC_OP_ISSUER", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_OP_LOGOUT_ENDPOINT = os.environ.get("OIDC_OP_LOGOUT_ENDPOINT", "")
OIDC_USE_PKCE = envbool("OIDC_USE_PKCE", True)
OIDC_USE_NONCE = envbool("OIDC_USE_NONCE", True)
OIDC_VERIFY_SSL = envbool("OIDC_VERIFY_SSL", True)
EPORTAL_OIDC_ID_CLAIM = os.environ.get("EPORTAL_OIDC_ID_CLAIM", "pid")
EPORTAL_OIDC_MIN_ACR = envlist("EPORTAL_OIDC_MIN_ACR", "idporten-loa-high")

# ePortal

EPORTAL_ALLOW_SYNTHETIC_IDS = envbool("EPORTAL_ALLOW_SYNTHETIC_IDS", False)
# Patient sessions: idle timeout and absolute lifetime, in seconds.
EPORTAL_PATIENT_IDLE_TIMEOUT = envint("EPORTAL_PATIENT_IDLE_TIMEOUT", 15 * 60)
EPORTAL_PATIENT_MAX_AGE = envint("EPORTAL_PATIENT_MAX_AGE", 8 * 60 * 60)
# Login with password + SMS code: limits kept on the server, per person, IP and clinic.
EPORTAL_CODE_TTL = envint("EPORTAL_CODE_TTL", 5 * 60)
EPORTAL_CODE_MAX_TRIES = envint("EPORTAL_CODE_MAX_TRIES", 3)
EPORTAL_CODES_PER_PERSON = envint("EPORTAL_CODES_PER_PERSON", 3)  # per 15 minutes
EPORTAL_PASSWORD_FAILURES_PER_PERSON = envint("EPORTAL_PASSWORD_FAILURES_PER_PERSON", 10)  # /hour
EPORTAL_ATTEMPTS_PER_IP = envint("EPORTAL_ATTEMPTS_PER_IP", 30)  # per 15 minutes
EPORTAL_SMS_PER_CLINIC_PER_DAY = envint("EPORTAL_SMS_PER_CLINIC_PER_DAY", 2000)
EPORTAL_PUBLIC_BASE_URL = os.environ.get("EPORTAL_PUBLIC_BASE_URL", "")

# "Kontakt ekspedisjonen": words that make a message to the reception look like a medical
# question, per language (lower case, matched as whole words or word beginnings); the patient
# is then offered to send it as an eConsultation instead (docs/econsult.md).
ECONSULT_CLINICAL_KEYWORDS: dict[str, list[str]] = {
    "nb": ["smerte", "vondt", "feber", "utslett", "hoste", "kvalme", "svimmel", "blod",
           "hodepine", "diare", "oppkast", "hevelse", "infeksjon", "symptom", "medisin",
           "bivirkning", "sår", "kul", "pust", "angst", "depresjon", "gravid", "dose"],
    "nn": ["smerte", "vondt", "feber", "utslett", "hoste", "kvalme", "svimmel", "blod",
           "hovudverk", "diaré", "oppkast", "hevelse", "infeksjon", "symptom", "medisin",
           "biverknad", "sår", "kul", "pust", "angst", "depresjon", "gravid", "dose"],
    "en": ["pain", "ache", "fever", "rash", "cough", "nausea", "dizzy", "blood", "headache",
           "diarrhoea", "diarrhea", "vomit", "swelling", "infection", "symptom", "medicine",
           "side effect", "wound", "lump", "breath", "anxiety", "depression", "pregnant", "dose"],
}  # fmt: skip

# Operations: alerts go to superusers and clinic administrators, and to these addresses.
EPORTAL_ALERT_EMAILS = envlist("EPORTAL_ALERT_EMAILS")

# Logging: identity numbers never reach a log line (see eportal.logging)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "eportal.logging.RedactIdentityNumbers"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact"],
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "twilio.http_client": {"level": "WARNING"},
    },
}
