"""Twilio's delivery-status webhook."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from . import services

logger = logging.getLogger(__name__)


def _public_url(request: HttpRequest) -> str:
    """The URL Twilio called, which its signature covers.

    Behind a proxy our own idea of scheme and host may differ from Twilio's, so the
    configured public base URL wins (the Twilio backend builds the callback URL from it).
    """
    base = settings.EPORTAL_PUBLIC_BASE_URL
    if base:
        return base.rstrip("/") + request.get_full_path()
    return request.build_absolute_uri()


@csrf_exempt  # Twilio cannot send a CSRF token; the signature authenticates the call.
@require_POST
def status_callback(request: HttpRequest) -> HttpResponse:
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    # Without a token anyone could compute a "valid" signature: refuse everything.
    if not token or not signature:
        return HttpResponseForbidden()
    if not RequestValidator(token).validate(_public_url(request), request.POST, signature):
        logger.warning("SMS status callback with a wrong signature refused")
        return HttpResponseForbidden()
    services.sms_record_status(
        provider_id=request.POST.get("MessageSid", ""),
        status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode"),
    )
    # Unknown ids and statuses answer the same: there is nothing for Twilio to retry.
    return HttpResponse(status=204)
