"""Patient pages: book an appointment, my appointments, urgent appointment today.

Thin views: parse, ask the selectors or call one service, render. Who may be booked is
decided by ``delegation.selectors`` alone. The slot page's HTML is built in
:mod:`booking.rendering` (dates and times formatted once, in Python, for all the slots of a
page).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics import audit
from clinics.converters import parse_id
from clinics.dates import day_and_month, long_date
from clinics.models import Clinic, Practitioner
from clinics.urlcache import cached_reverse
from delegation.selectors import practitioners_for
from identification.session import PatientRequest, logged_in_patient, patient_required

from . import services
from .forms import ReasonForm, WaitlistForm
from .models import Appointment, SlotOffer
from .rendering import (
    SlotView,
    appointment_ics,
    day_label,
    local_time,
    practitioner_picker,
    slot_views,
    week_buttons,
    week_days,
    week_grid,
)
from .selectors import (
    bookable_window,
    booking_settings,
    first_free_slot,
    free_slot_rows,
    free_slots,
    limit_reached,
    local_midnight,
    local_today,
    local_tz,
    patient_appointment,
    patient_appointments,
    patient_offer,
    patient_waitlist,
    urgent_window,
)

DAY = datetime.timedelta(days=1)
WEEK = datetime.timedelta(days=7)


def _monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def _parse_week(value: str | None) -> datetime.date | None:
    try:
        return _monday(datetime.date.fromisoformat(value or ""))
    except ValueError:
        return None


def _chosen(
    practitioners: list[Practitioner], value: str | None, default: int | None = None
) -> Practitioner:
    """The practitioner asked for (``?p=``), else ``default``, else the first offered."""
    for wanted in (parse_id(value), default):
        for practitioner in practitioners:
            if practitioner.pk == wanted:
                return practitioner
    return practitioners[0]


def _week_context(
    request: PatientRequest,
    practitioners: list[Practitioner],
    base_url: str,
    *,
    moving: int | None = None,
    default: int | None = None,
) -> dict[str, object]:
    """The week grid of one practitioner's free times (the practitioner picker, week paging
    and slot buttons linking to ``base_url<slot id>/``), shared by "Bestill time" and
    "Flytt timen" (``moving``: the appointment being moved, see ``free_slots``; ``default``:
    the practitioner shown when none is asked for). One query: the week's free slots."""
    clinic = logged_in_patient(request).clinic
    chosen = _chosen(practitioners, request.GET.get("p"), default)
    now = timezone.now()
    window = bookable_window(clinic, urgent=False, now=now)
    first_monday = _monday(local_today(now))
    last_monday = _monday(window.horizon_end.astimezone(local_tz()).date() - DAY)
    monday = _parse_week(request.GET.get("week")) or first_monday
    monday = min(max(monday, first_monday), last_monday)
    start = max(local_midnight(monday), window.earliest)
    end = min(local_midnight(monday + WEEK), window.horizon_end)
    rows = []
    if start < end:
        rows = free_slot_rows(practitioner_ids=[chosen.pk], start=start, end=end, moving=moving)
    days = week_days(monday, week_buttons(rows, chosen.name, base_url))
    week_end = monday + 6 * DAY
    return {
        "chosen": chosen,
        "picker": practitioner_picker(practitioners, chosen),
        "days": days,
        "week_grid": week_grid(days),
        "any_free": bool(rows),
        "week_label": _("%(first)s – %(last)s")
        % {
            "first": day_and_month(monday),
            "last": long_date(week_end, weekday=False),
        },
        "prev_week": (monday - WEEK).isoformat() if monday > first_monday else None,
        "next_week": (monday + WEEK).isoformat() if monday < last_monday else None,
    }


@patient_required
def book(request: PatientRequest, ep_ident: str) -> HttpResponse:
    """'Bestill time': the free slots of one practitioner for one week, day by day.

    Four queries at most: the session (none once Redis caches it), the patient with the
    clinic and its booking settings, the practitioners the matrix offers, and the week's
    free slots.
    """
    patient = logged_in_patient(request)
    clinic = patient.clinic
    practitioners = practitioners_for(patient, "booking")
    context: dict[str, object] = {"clinic": clinic, "practitioners": practitioners}
    if not practitioners:
        return render(request, "booking/book.html", context)
    if limit_reached(patient, urgent=False):
        # Said before any time is listed, not after one is chosen (no query: the count came
        # with the patient's row).
        context["at_limit"] = booking_settings(clinic).max_future_online
        return render(request, "booking/book.html", context)
    base_url = cached_reverse("booking:book", clinic.ep_ident)
    context.update(_week_context(request, practitioners, base_url))
    return render(request, "booking/book.html", context)


@patient_required
def first_free(request: PatientRequest, ep_ident: str) -> HttpResponse:
    """The "first free time" shortcut: straight to the first bookable slot."""
    patient = logged_in_patient(request)
    practitioners = practitioners_for(patient, "booking")
    if not practitioners:
        return redirect("booking:book", ep_ident=ep_ident)
    chosen = _chosen(practitioners, request.GET.get("p"))
    window = bookable_window(patient.clinic, urgent=False)
    found = first_free_slot(
        practitioner_id=chosen.pk, start=window.earliest, end=window.horizon_end
    )
    if found is None:
        messages.info(
            request,
            _("%(name)s has no free times in the coming weeks.") % {"name": chosen.name},
        )
        return redirect(reverse("booking:book", kwargs={"ep_ident": ep_ident}) + f"?p={chosen.pk}")
    return redirect("booking:confirm", ep_ident=ep_ident, slot_id=found[0])


def _alternatives(
    request: PatientRequest,
    names: dict[int, str],
    *,
    urgent: bool,
    base: str | None = None,
    moving: int | None = None,
) -> list[SlotView]:
    """A few fresh free slots to offer after a conflict (one query), linking to
    ``base<slot id>/`` (by default the confirm pages of booking or urgent booking)."""
    clinic = logged_in_patient(request).clinic
    window = bookable_window(clinic, urgent=urgent)
    if base is None:
        base = reverse(
            "booking:urgent" if urgent else "booking:book", kwargs={"ep_ident": clinic.ep_ident}
        )
    rows = list(
        free_slots(
            practitioner_ids=list(names),
            start=window.earliest,
            end=window.horizon_end,
            moving=moving,
        ).values_list("pk", "start", "practitioner_id")[:6]
    )
    by_day = slot_views(rows, names, base)
    return [slot for slots in by_day.values() for slot in slots]


def _offered_slot(
    request: PatientRequest, slot_id: int, *, urgent: bool, moving: int | None = None
) -> tuple[tuple[int, datetime.datetime, int] | None, dict[int, str]]:
    """The slot if it is offered to this patient right now, with its practitioner; else None,
    plus the practitioners offered for the service (``moving``: see ``free_slots``)."""
    patient = logged_in_patient(request)
    practitioners = practitioners_for(patient, "urgent" if urgent else "booking")
    names = {p.pk: p.name for p in practitioners}
    window = bookable_window(patient.clinic, urgent=urgent)
    row = (
        free_slots(
            practitioner_ids=list(names),
            start=window.earliest,
            end=window.horizon_end,
            moving=moving,
        )
        .filter(pk=slot_id)
        .values_list("pk", "start", "practitioner_id")
        .first()
    )
    return row, names


def _conflict(
    request: PatientRequest, code: str, names: dict[int, str], *, urgent: bool
) -> HttpResponse:
    clinic = logged_in_patient(request).clinic
    context = {
        "clinic": clinic,
        "code": code,
        "urgent": urgent,
        "alternatives": _alternatives(request, names, urgent=urgent)
        if code in {"taken", "unavailable"}
        else [],
        "all_url": reverse(
            "booking:urgent" if urgent else "booking:book", kwargs={"ep_ident": clinic.ep_ident}
        ),
    }
    return render(request, "booking/conflict.html", context, status=409)


def _confirm(request: PatientRequest, ep_ident: str, slot_id: int, *, urgent: bool) -> HttpResponse:
    patient = logged_in_patient(request)
    clinic = patient.clinic
    form = ReasonForm(request.POST or None, urgent=urgent)
    if request.method == "POST" and form.is_valid():
        # The service checks everything again, under locks; nothing is read before it.
        try:
            appointment = services.appointment_book(
                patient=patient,
                slot_id=slot_id,
                reason=form.cleaned_data["reason"],
                urgent=urgent,
                request=request,
            )
        except services.BookingError as error:
            names = {
                p.pk: p.name for p in practitioners_for(patient, "urgent" if urgent else "booking")
            }
            return _conflict(request, error.code, names, urgent=urgent)
        return redirect("booking:booked", ep_ident=ep_ident, appointment_id=appointment.pk)
    row, names = _offered_slot(request, slot_id, urgent=urgent)
    if row is None:
        return _conflict(request, "unavailable", names, urgent=urgent)
    if request.method == "GET" and limit_reached(patient, urgent=urgent):
        # Say so before the patient writes the reason, not after.
        return _conflict(request, "limit", names, urgent=urgent)
    local = row[1].astimezone(local_tz())
    context = {
        "clinic": clinic,
        "form": form,
        "urgent": urgent,
        "day": day_label(local.date()),
        "time": local_time(local),
        "practitioner": names[row[2]],
        "back_url": reverse(
            "booking:urgent" if urgent else "booking:book", kwargs={"ep_ident": ep_ident}
        )
        + ("" if urgent else f"?p={row[2]}&week={_monday(local.date()).isoformat()}"),
    }
    return render(request, "booking/confirm.html", context, status=400 if form.errors else 200)


@patient_required
def confirm(request: PatientRequest, ep_ident: str, slot_id: int) -> HttpResponse:
    return _confirm(request, ep_ident, slot_id, urgent=False)


@patient_required
def urgent_confirm(request: PatientRequest, ep_ident: str, slot_id: int) -> HttpResponse:
    return _confirm(request, ep_ident, slot_id, urgent=True)


def _appointment_or_404(request: PatientRequest, appointment_id: int) -> Appointment:
    appointment = patient_appointment(logged_in_patient(request), appointment_id)
    if appointment is None:
        raise Http404
    return appointment


@patient_required
def booked(request: PatientRequest, ep_ident: str, appointment_id: int) -> HttpResponse:
    appointment = _appointment_or_404(request, appointment_id)
    local = appointment.start.astimezone(local_tz())
    return render(
        request,
        "booking/booked.html",
        {
            "clinic": logged_in_patient(request).clinic,
            "appointment": appointment,
            "day": day_label(local.date()),
            "time": local_time(local),
        },
    )


@dataclass(frozen=True)
class AppointmentView:
    appointment: Appointment
    day: str
    time: str
    can_cancel: bool

    @property
    def can_move(self) -> bool:
        """Moved online until the cancel deadline, as it is cancelled; an urgent one not."""
        return self.can_cancel and not self.appointment.urgent


@patient_required
def mine(request: PatientRequest, ep_ident: str) -> HttpResponse:
    """'Mine timer': upcoming and past appointments; cancel until the clinic's deadline."""
    patient = logged_in_patient(request)
    clinic = patient.clinic
    rules = booking_settings(clinic)
    now = timezone.now()
    tz = local_tz()
    upcoming: list[AppointmentView] = []
    past: list[AppointmentView] = []
    for appointment in patient_appointments(patient):
        local = appointment.start.astimezone(tz)
        active = appointment.status == Appointment.Status.BOOKED
        view = AppointmentView(
            appointment,
            long_date(local.date()),
            local_time(local),
            active and now <= services.cancel_deadline(appointment, rules.cancel_deadline_hours),
        )
        (upcoming if active and appointment.end > now else past).append(view)
    past.reverse()
    audit.record("booking.list_viewed", request=request, patient=patient, clinic=clinic)
    return render(
        request,
        "booking/mine.html",
        {
            "clinic": clinic,
            "upcoming": upcoming,
            "past": past,
            "deadline_hours": rules.cancel_deadline_hours,
            "waitlist": patient_waitlist(patient),
        },
    )


def _cancel_question(
    request: PatientRequest, ep_ident: str, appointment: Appointment
) -> HttpResponse:
    if appointment.status != Appointment.Status.BOOKED:
        return redirect("booking:mine", ep_ident=ep_ident)
    local = appointment.start.astimezone(local_tz())
    context = {
        "clinic": logged_in_patient(request).clinic,
        "appointment": appointment,
        "day": long_date(local.date()),
        "time": local_time(local),
    }
    return render(request, "booking/cancel_confirm.html", context)


@require_POST
@patient_required
def cancel(request: PatientRequest, ep_ident: str, appointment_id: int) -> HttpResponse:
    """ "Avbestill" asks first: the button on "Mine timer" shows the appointment with "Yes,
    cancel" (a form with ``confirm=yes``) and "No, keep it"; only that cancels."""
    patient = logged_in_patient(request)
    if request.POST.get("confirm") != "yes":
        return _cancel_question(request, ep_ident, _appointment_or_404(request, appointment_id))
    try:
        appointment = services.appointment_cancel(
            appointment_id=appointment_id, patient=patient, request=request
        )
    except services.CancelTooLate:
        messages.error(
            request,
            _("It is too late to cancel online. Please call the clinic at %(phone)s.")
            % {"phone": patient.clinic.phone},
        )
    else:
        if appointment is None:
            raise Http404
        messages.success(request, _("Your appointment is cancelled."))
    return redirect("booking:mine", ep_ident=ep_ident)


# "Flytt timen" (docs/booking.md, "Reschedule"): another free time, in one step.


def _not_movable(request: PatientRequest, ep_ident: str) -> HttpResponse:
    messages.error(request, _("This appointment cannot be moved online."))
    return redirect("booking:mine", ep_ident=ep_ident)


def _too_late_to_move(request: PatientRequest, ep_ident: str) -> HttpResponse:
    clinic = logged_in_patient(request).clinic
    if clinic.phone:
        text = _(
            "It is too late to move the appointment online. Please call the clinic at %(phone)s."
        ) % {"phone": clinic.phone_display}
    else:
        text = _("It is too late to move the appointment online. Please call the clinic.")
    messages.error(request, text)
    return redirect("booking:mine", ep_ident=ep_ident)


def _move_refusal(
    request: PatientRequest, ep_ident: str, appointment: Appointment
) -> HttpResponse | None:
    """None when the appointment may be moved online now (booked, ordinary, before the
    cancel deadline); else the way back to "Mine timer" with the reason. The service checks
    it all again under its locks."""
    if appointment.status != Appointment.Status.BOOKED or appointment.urgent:
        return _not_movable(request, ep_ident)
    rules = booking_settings(logged_in_patient(request).clinic)
    if timezone.now() > services.cancel_deadline(appointment, rules.cancel_deadline_hours):
        return _too_late_to_move(request, ep_ident)
    return None


def _when(appointment: Appointment) -> dict[str, str]:
    local = appointment.start.astimezone(local_tz())
    return {"day": long_date(local.date()), "time": local_time(local)}


def _move_url(ep_ident: str, appointment: Appointment) -> str:
    return reverse("booking:move", kwargs={"ep_ident": ep_ident, "appointment_id": appointment.pk})


@patient_required
def move(request: PatientRequest, ep_ident: str, appointment_id: int) -> HttpResponse:
    """'Flytt timen': the week grid of the free times of the practitioners the matrix offers
    for booking (the appointment's own practitioner first shown), each linking to the move's
    confirm page. Five queries at most: the session, the patient, the appointment, the
    offered practitioners, the week's free slots."""
    patient = logged_in_patient(request)
    appointment = _appointment_or_404(request, appointment_id)
    refusal = _move_refusal(request, ep_ident, appointment)
    if refusal is not None:
        return refusal
    practitioners = practitioners_for(patient, "booking")
    context: dict[str, object] = {
        "clinic": patient.clinic,
        "appointment": appointment,
        "practitioners": practitioners,
        **_when(appointment),
    }
    if practitioners:
        context.update(
            _week_context(
                request,
                practitioners,
                _move_url(ep_ident, appointment),
                moving=appointment.pk,
                default=appointment.practitioner_id,
            )
        )
    return render(request, "booking/move.html", context)


def _move_conflict(
    request: PatientRequest, appointment: Appointment, code: str, names: dict[int, str]
) -> HttpResponse:
    """The new time was taken or is no longer offered: the old booking stands, and fresh
    free times link to the move's confirm pages (not to new bookings)."""
    clinic = logged_in_patient(request).clinic
    base = _move_url(clinic.ep_ident, appointment)
    context = {
        "clinic": clinic,
        "code": code,
        "urgent": False,
        "alternatives": _alternatives(
            request, names, urgent=False, base=base, moving=appointment.pk
        ),
        "all_url": base,
        "kept": _when(appointment),
    }
    return render(request, "booking/conflict.html", context, status=409)


@patient_required
def move_confirm(
    request: PatientRequest, ep_ident: str, appointment_id: int, slot_id: int
) -> HttpResponse:
    """The move's confirm page: the current time and the new one; its POST moves the
    booking (``services.appointment_move``) and goes back to "Mine timer" with the new
    time in a status message."""
    patient = logged_in_patient(request)
    appointment = _appointment_or_404(request, appointment_id)  # someone else's: 404
    if request.method == "POST":
        # The service checks everything again, under locks.
        try:
            moved = services.appointment_move(
                patient=patient, appointment_id=appointment.pk, slot_id=slot_id, request=request
            )
        except services.CancelTooLate:
            return _too_late_to_move(request, ep_ident)
        except services.NotMovable:
            return _not_movable(request, ep_ident)
        except services.BookingError as error:
            names = {p.pk: p.name for p in practitioners_for(patient, "booking")}
            return _move_conflict(request, appointment, error.code, names)
        messages.success(
            request,
            _("Your appointment is moved to %(day)s at %(time)s with %(practitioner)s.")
            % {**_when(moved), "practitioner": moved.practitioner.name},
        )
        return redirect("booking:mine", ep_ident=ep_ident)
    refusal = _move_refusal(request, ep_ident, appointment)
    if refusal is not None:
        return refusal
    if slot_id == appointment.slot_id:
        messages.info(request, _("Your appointment already has this time."))
        return redirect("booking:mine", ep_ident=ep_ident)
    row, names = _offered_slot(request, slot_id, urgent=False, moving=appointment.pk)
    if row is None:
        return _move_conflict(request, appointment, "unavailable", names)
    local = row[1].astimezone(local_tz())
    context = {
        "clinic": patient.clinic,
        "appointment": appointment,
        "old": _when(appointment),
        "new_day": long_date(local.date()),
        "new_time": local_time(local),
        "new_practitioner": names[row[2]],
        "back_url": _move_url(ep_ident, appointment)
        + f"?p={row[2]}&week={_monday(local.date()).isoformat()}",
    }
    return render(request, "booking/move_confirm.html", context)


@patient_required
def ics(request: PatientRequest, ep_ident: str, appointment_id: int) -> HttpResponse:
    """The appointment as an iCalendar file (no reason in it: calendars travel)."""
    appointment = _appointment_or_404(request, appointment_id)
    response = HttpResponse(
        appointment_ics(appointment, logged_in_patient(request).clinic),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="time-{appointment.pk}.ics"'
    return response


@patient_required
def urgent(request: PatientRequest, ep_ident: str) -> HttpResponse:
    """'Hastetime': today's free slots, from now on, of the practitioners named for urgent."""
    patient = logged_in_patient(request)
    clinic = patient.clinic
    practitioners = practitioners_for(patient, "urgent")
    names = {p.pk: p.name for p in practitioners}
    # Today's free times, grouped by practitioner (in the matrix's order): two practitioners'
    # 14:00 are two different buttons, and sighted users see whose each one is.
    groups: list[tuple[str, list[SlotView]]] = []
    at_limit = bool(practitioners) and limit_reached(patient, urgent=True)
    if practitioners and not at_limit:
        window = urgent_window()
        rows = free_slot_rows(
            practitioner_ids=list(names), start=window.earliest, end=window.horizon_end
        )
        base = reverse("booking:urgent", kwargs={"ep_ident": clinic.ep_ident})
        for practitioner in practitioners:
            own = [row for row in rows if row[2] == practitioner.pk]
            if own:
                views = slot_views(own, names, base).values()
                groups.append((practitioner.name, [s for day in views for s in day]))
    return render(
        request,
        "booking/urgent.html",
        {
            "clinic": clinic,
            "groups": groups,
            "slots": bool(groups),
            "offered": bool(practitioners),
            "at_limit": at_limit,
        },
    )


# The waitlist (docs/booking.md, "Waitlist")


def _waitlist_last_day(clinic: Clinic) -> datetime.date:
    """The last day a patient may wait for: the last day of the booking horizon."""
    window = bookable_window(clinic, urgent=False)
    return window.horizon_end.astimezone(local_tz()).date() - DAY


@patient_required
def waitlist_join(request: PatientRequest, ep_ident: str) -> HttpResponse:
    """ "Ønsker tidligere time": with ``?a=<appointment id>`` for an earlier time than that
    booking (accepting moves it), without for a first booking (the reason is asked now)."""
    patient = logged_in_patient(request)
    clinic = patient.clinic
    source = request.POST if request.method == "POST" else request.GET
    appointment = None
    if source.get("a"):
        appointment_id = parse_id(source.get("a"))
        if appointment_id is not None:
            appointment = patient_appointment(patient, appointment_id)
        if appointment is None:
            raise Http404
    practitioners = practitioners_for(patient, "booking")
    last_day = _waitlist_last_day(clinic)
    initial: dict[str, object] = {
        "weekdays": [1, 2, 3, 4, 5],
        "time_from": datetime.time(8, 0),
        "time_to": datetime.time(16, 0),
        "until": (appointment.start.astimezone(local_tz()).date() - DAY)
        if appointment is not None
        else last_day,
    }
    chosen = parse_id(request.GET.get("p"))
    if appointment is not None:
        initial["practitioners"] = [appointment.practitioner_id]
    elif chosen is not None:
        initial["practitioners"] = [chosen]
    form = WaitlistForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        practitioners=[(p.pk, p.name) for p in practitioners],
        with_reason=appointment is None,
        last_day=last_day,
    )
    error = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.waitlist_join(
                patient=patient,
                practitioner_ids=data["practitioners"],
                weekdays=data["weekdays"],
                time_from=data["time_from"],
                time_to=data["time_to"],
                until=data["until"],
                appointment_id=appointment.pk if appointment is not None else None,
                reason=data.get("reason", ""),
                request=request,
            )
        except services.BookingError as refused:
            error = refused.code
        except ValueError:
            error = "invalid"
        else:
            messages.success(
                request,
                _("You are on the waitlist. We send you an SMS if an earlier time frees up."),
            )
            return redirect("booking:mine", ep_ident=ep_ident)
    context: dict[str, object] = {
        "clinic": clinic,
        "form": form,
        "appointment": appointment,
        "error": error,
        "offered": bool(practitioners),
    }
    if appointment is not None:
        local = appointment.start.astimezone(local_tz())
        context.update({"day": long_date(local.date()), "time": local_time(local)})
    status = 400 if (form.errors or error) else 200
    return render(request, "booking/waitlist_join.html", context, status=status)


@require_POST
@patient_required
def waitlist_leave(request: PatientRequest, ep_ident: str, entry_id: int) -> HttpResponse:
    """Leave the waitlist (a button on "Mine timer")."""
    entry = services.waitlist_leave(
        patient=logged_in_patient(request), entry_id=entry_id, request=request
    )
    if entry is None:
        raise Http404
    messages.success(request, _("You are no longer on the waitlist."))
    return redirect("booking:mine", ep_ident=ep_ident)


@patient_required
def offer(request: PatientRequest, ep_ident: str, offer_id: int) -> HttpResponse:
    """The page the offer SMS links to: the offered time, "Yes, I take it" and "No thanks".
    Only the patient's own offer (anyone else's: 404); one no longer open says so and
    links to booking as usual."""
    patient = logged_in_patient(request)
    clinic = patient.clinic
    found = patient_offer(patient, offer_id)
    if found is None:
        raise Http404
    now = timezone.now()
    is_open = found.status == SlotOffer.Status.OFFERED and found.expires_at > now
    error = None
    if request.method == "POST" and is_open:
        if request.POST.get("answer") == "decline":
            services.offer_decline(patient=patient, offer_id=found.pk, request=request)
            messages.info(request, _("The time is offered to someone else. You keep waiting."))
            return redirect("booking:mine", ep_ident=ep_ident)
        if request.POST.get("answer") == "accept":
            try:
                appointment = services.offer_accept(
                    patient=patient, offer_id=found.pk, request=request
                )
            except services.BookingError as refused:
                error = refused.code
                is_open = False
            else:
                return redirect("booking:booked", ep_ident=ep_ident, appointment_id=appointment.pk)
    slot = found.slot
    local = slot.start.astimezone(local_tz())
    context: dict[str, object] = {
        "clinic": clinic,
        "offer": found,
        "open": is_open,
        "error": error,
        "day": long_date(local.date()),
        "time": local_time(local),
        "practitioner": slot.practitioner.name,
        "held_until": local_time(found.expires_at.astimezone(local_tz())),
    }
    moving = found.entry.appointment
    if moving is not None:
        old = moving.start.astimezone(local_tz())
        context.update({"old_day": long_date(old.date()), "old_time": local_time(old)})
    status = 200 if is_open or request.method == "GET" else 409
    return render(request, "booking/offer.html", context, status=status)
