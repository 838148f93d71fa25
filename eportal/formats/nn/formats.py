"""Dates as nynorsk writes them: "2. desember 2026", "onsdag 2. desember 2026" (with
``clinics.dates``). Django's own nynorsk formats for everything not named here."""

DATE_FORMAT = "j. F Y"
MONTH_DAY_FORMAT = "j. F"
