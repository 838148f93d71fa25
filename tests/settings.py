"""Settings for the test suite: the production module with test-only values on top."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-" + "x7Qp2vL9rT4mW8zK1nB6cJ3hF5dS0aG" * 2)
os.environ.setdefault("EPORTAL_ALLOW_SYNTHETIC_IDS", "1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from eportal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# Attachments of the test run: a folder of its own, removed with the machine's temp files.
ECONSULT_FILES_ROOT = Path(tempfile.mkdtemp(prefix="eportal-econsult-"))
STORAGES["econsult"] = {  # noqa: F405
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": ECONSULT_FILES_ROOT},
}
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "sms.backends.locmem.LocMemBackend"
CELERY_TASK_ALWAYS_EAGER = True
SMS_DISPATCH_AT_COMMIT = True  # tasks in-process: no beat
# Admin tests log staff in with force_login; the two-factor gate has its own tests.
EPORTAL_STAFF_MFA_REQUIRED = False
