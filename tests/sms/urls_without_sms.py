"""A URL configuration without the SMS webhook."""

from __future__ import annotations

urlpatterns: list[object] = []
