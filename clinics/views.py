"""Patient-facing clinic pages: the entry link and the clinic's start page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .selectors import clinic_by_ep_ident


def unknown_clinic(request: HttpRequest) -> HttpResponse:
    return render(request, "clinics/unknown_clinic.html", status=404)


def entry(request: HttpRequest) -> HttpResponse:
    """``/Login.aspx?ClinicId=<EP_ident>``: the link clinics put on their own website."""
    ep_ident = next(
        (value for key, value in request.GET.items() if key.lower() == "clinicid"), None
    )
    clinic = clinic_by_ep_ident(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    return redirect("clinics:start", ep_ident=clinic.ep_ident)


def start(request: HttpRequest, ep_ident: str) -> HttpResponse:
    clinic = clinic_by_ep_ident(ep_ident)
    if clinic is None:
        return unknown_clinic(request)
    if clinic.ep_ident != ep_ident:
        return redirect("clinics:start", ep_ident=clinic.ep_ident)
    return render(request, "clinics/start.html", {"clinic": clinic})
