"""Health endpoints for load balancers and docker: both exempt from the HTTPS redirect."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from . import health

logger = logging.getLogger(__name__)


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches neither the database nor the broker, so a
    database outage does not get healthy web processes restarted."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: can this process serve patients? 503 names each part that failed."""
    checks: dict[str, Callable[[], str]] = {
        "database": health.check_database,
        "broker": health.check_broker,
    }
    answer: dict[str, str] = {}
    for name, check in checks.items():
        try:
            answer[name] = check()
        except Exception as error:
            logger.warning("readyz: %s unavailable (%s)", name, type(error).__name__)
            answer[name] = "unavailable"
    failing = [name for name, value in answer.items() if value != "ok"]
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing, **answer}, status=503)
    return JsonResponse({"status": "ok", **answer})
