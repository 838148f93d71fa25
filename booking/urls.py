"""Patient pages under /c/<ep_ident>/ (mounted in eportal/urls.py)."""

from __future__ import annotations

from django.urls import path

from clinics.converters import register_id_converter

from . import views

register_id_converter()

app_name = "booking"

urlpatterns = [
    path("timer/", views.book, name="book"),
    path("timer/forste-ledige/", views.first_free, name="first_free"),
    path("timer/<id:slot_id>/", views.confirm, name="confirm"),
    path("timer/bestilt/<id:appointment_id>/", views.booked, name="booked"),
    path("mine-timer/", views.mine, name="mine"),
    path("mine-timer/<id:appointment_id>/avbestill/", views.cancel, name="cancel"),
    path("mine-timer/<id:appointment_id>/kalender.ics", views.ics, name="ics"),
    path("mine-timer/<id:appointment_id>/flytt/", views.move, name="move"),
    path(
        "mine-timer/<id:appointment_id>/flytt/<id:slot_id>/",
        views.move_confirm,
        name="move_confirm",
    ),
    path("hastetime/", views.urgent, name="urgent"),
    path("hastetime/<id:slot_id>/", views.urgent_confirm, name="urgent_confirm"),
    path("timer/venteliste/", views.waitlist_join, name="waitlist_join"),
    path(
        "mine-timer/venteliste/<id:entry_id>/avslutt/",
        views.waitlist_leave,
        name="waitlist_leave",
    ),
    path("timer/tilbud/<id:offer_id>/", views.offer, name="offer"),
]
