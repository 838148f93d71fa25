"""PostgreSQL only: two booked appointments of one practitioner never overlap in time.

An exclusion constraint (needs btree_gist for the ``=`` on the practitioner id). It lives in a
migration rather than in ``Meta.constraints`` because SQLite, the embedded default, has no such
constraint; there the booking service's lock on the practitioner's overlapping slots (and
SQLite's single writer) gives the same guarantee.
"""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """ALTER TABLE booking_appointment ADD CONSTRAINT booking_no_overlapping_booked
    EXCLUDE USING gist (practitioner_id WITH =, tstzrange(start, "end", '[)') WITH &&)
    WHERE (status = 'booked')""",
]
DROP = "ALTER TABLE booking_appointment DROP CONSTRAINT IF EXISTS booking_no_overlapping_booked;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
