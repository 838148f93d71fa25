"""The project's admin site: Django's own, with one guard in front of every admin view.

Query strings and ids typed into an admin address reach the ORM as lookups. Django turns the
errors it foresees into its ``?e=1`` redirect (``IncorrectLookupParameters``), but some only
surface once the query is compiled or bound, after that check, and answered 500:

- ``?start__year=99999999999999999999``: the year's bounds overflow a C long (OverflowError);
  ``?start__year=10000``: "year 10000 is out of range" (ValueError);
- ``?start__year=9999&start__month=12`` (the date hierarchy): the next month is beyond
  9999-12-31 (OverflowError), and ``?start__year=9999`` the next year (ValueError);
- ``?practitioner_id__exact=<20 digits>``, ``?start__lt=0001-01-01`` on SQLite: the database
  adapter cannot bind the value (OverflowError);
- a NUL byte in the autocomplete's ``term`` on PostgreSQL, which rejects NUL in strings
  (DataError).

Every admin page goes through :meth:`AdminSite.admin_view`, the third-party ModelAdmins (auth,
sites, allauth) as much as ours, so the guard sits there, once, rather than in a ChangeList
subclass each ModelAdmin would have to opt into.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.admin import AdminSite
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import BadRequest
from django.db import DataError
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])

#: Values no field can hold: too large for the database, Python's dates or a C integer.
_OUT_OF_RANGE: tuple[type[Exception], ...] = (OverflowError, DataError)


def _is_changelist(view: Callable[..., Any]) -> bool:
    return getattr(view, "__name__", "") == "changelist_view"


def refuse_out_of_range_input(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """The view, answering 400 where a value typed into the address is out of range.

    Only GET and HEAD are guarded: what a form posts is the form's to validate, and a
    DataError there is more likely a bug than input. A changelist asked with a query string
    also treats ValueError as bad input, as Django does for the lookups it checks itself,
    and answers the same way: a redirect to the unfiltered list with ``?e=1``, or 400 if
    that flag is already there. Elsewhere a ValueError stays a 500. Only the view is guarded,
    not the rendering of its template response; the changelist runs its queries (the count
    and the page) inside the view.
    """
    changelist = _is_changelist(view)

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        lookups = changelist and bool(request.GET)
        caught: tuple[type[Exception], ...] = (
            (*_OUT_OF_RANGE, ValueError) if lookups else _OUT_OF_RANGE
        )
        try:
            return view(request, *args, **kwargs)
        except caught as error:
            if lookups and ERROR_FLAG not in request.GET:
                return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
            raise BadRequest(f"Out-of-range value in the admin address: {error}") from error

    return guarded


class EPortalAdminSite(AdminSite):
    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        # Inside Django's wrapper, so the login and permission checks still come first. The
        # guard is functools.wraps'd and takes the view's arguments, so it stands in for it.
        guarded = cast(_View, refuse_out_of_range_input(view))
        return super().admin_view(guarded, cacheable)
