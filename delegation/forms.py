"""The matrix form of the "ePortal delegerer" admin page."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .selectors import Cell, MatrixState

NO_GP_ROW = "none"


def cell_value(list_id: int | None, practitioner_id: int) -> str:
    """The checkbox value of a cell: ``<list id>:<practitioner id>``, ``none:<id>`` for the
    row of patients without a GP at this clinic."""
    return f"{NO_GP_ROW if list_id is None else list_id}:{practitioner_id}"


class MatrixForm(forms.Form):
    """One service's whole matrix: the ticked cells.

    Only cells of the clinic's own lists and practitioners are valid choices, so a cell naming
    another clinic's list or practitioner is refused. The columns of practitioners without
    "Aktiver ePortal" are disabled on the page (browsers do not send disabled checkboxes), so
    their cells keep their current state; ticking one by a crafted or stale request is refused.
    """

    cells = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, state: MatrixState, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state = state
        self._by_value: dict[str, Cell] = {
            cell_value(row.pk if row else None, p.pk): (row.pk if row else None, p.pk)
            for row in state.rows
            for p in state.practitioners
        }
        cells = cast(forms.MultipleChoiceField, self.fields["cells"])
        cells.choices = [(value, value) for value in self._by_value]
        cells.error_messages["invalid_choice"] = _(
            "A ticked cell is not part of this clinic's matrix."
        )

    def clean_cells(self) -> frozenset[Cell]:
        ticked = frozenset(self._by_value[value] for value in self.cleaned_data["cells"])
        disabled = {p.pk: p for p in self.state.practitioners if not p.eportal_enabled}
        current = self.state.cells
        newly_ticked_off = sorted(
            {disabled[p].name for (row, p) in ticked - current if p in disabled}
        )
        if newly_ticked_off:
            raise forms.ValidationError(
                gettext(
                    "%(names)s cannot be ticked: “Aktiver ePortal” is off. "
                    "Switch it on in “ePortal tjenester” first."
                )
                % {"names": ", ".join(newly_ticked_off)}
            )
        # Disabled columns keep exactly what the page showed; the rest is what was ticked.
        kept = frozenset(cell for cell in current if cell[1] in disabled)
        return frozenset(cell for cell in ticked if cell[1] not in disabled) | kept
