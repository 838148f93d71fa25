"""PatientCredential, LoginChallenge and ThrottleEvent move to the identification app.

Only Django's state changes: the tables stay where they are, with their rows, and the
identification app takes them over under the same names (identification/migrations/0001).
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('clinics', '0005_login_code_delivery'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='PatientCredential'),
                migrations.DeleteModel(name='LoginChallenge'),
                migrations.DeleteModel(name='ThrottleEvent'),
            ],
            database_operations=[],
        ),
    ]
