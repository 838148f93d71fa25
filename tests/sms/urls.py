"""The project's URLs plus the SMS webhook, until eportal/urls.py includes ``sms.urls``."""

from __future__ import annotations

from django.urls import include, path

from eportal.urls import handler404  # noqa: F401
from eportal.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if not any(getattr(pattern, "namespace", None) == "sms" for pattern in urlpatterns):
    urlpatterns.append(path("sms/", include("sms.urls")))
