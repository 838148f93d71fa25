"""Project-level views: the home page and error pages (health endpoints: ops.views)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``: the site's icon (templates/base.html names it; the admin does not)."""
    from django.templatetags.static import static

    return HttpResponsePermanentRedirect(static("favicon.svg"))
