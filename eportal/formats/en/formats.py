"""Dates as British English writes them: "2 December 2026", "Wednesday 2 December 2026"
(with ``clinics.dates``), never the Norwegian "2. December". Django's own English formats
for everything not named here."""

DATE_FORMAT = "j F Y"
MONTH_DAY_FORMAT = "j F"
