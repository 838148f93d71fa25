"""The portal's URLs plus ``/bench/hello`` (benchmark settings only)."""

from __future__ import annotations

from django.urls import path

from eportal.urls import handler404
from eportal.urls import urlpatterns as portal_urlpatterns

from . import views

urlpatterns = [path("bench/hello", views.hello, name="bench_hello"), *portal_urlpatterns]

__all__ = ["handler404", "urlpatterns"]
