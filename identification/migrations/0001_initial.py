"""The models that clinics kept for patient login, taken over with their tables and rows.

The tables were created by clinics (0002, 0005) and keep their names; these operations
change Django's state only. The content types move too, so permissions given on the models
stay attached to them.
"""

import django.db.models.deletion
from django.db import migrations, models

MODELS = ('patientcredential', 'loginchallenge', 'throttleevent')


def _move_content_types(apps, schema_editor, *, source, target):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    taken = set(
        ContentType.objects.using(db)
        .filter(app_label=target, model__in=MODELS)
        .values_list('model', flat=True)
    )
    ContentType.objects.using(db).filter(app_label=source, model__in=MODELS).exclude(
        model__in=taken
    ).update(app_label=target)


def forwards(apps, schema_editor):
    _move_content_types(apps, schema_editor, source='clinics', target='identification')


def backwards(apps, schema_editor):
    _move_content_types(apps, schema_editor, source='identification', target='clinics')


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('clinics', '0006_move_login_models_to_identification'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='PatientCredential',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('password', models.CharField(max_length=128, verbose_name='password')),
                        ('changed', models.DateTimeField(auto_now=True, verbose_name='changed')),
                        ('patient', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='credential', to='clinics.patient', verbose_name='patient')),
                    ],
                    options={
                        'verbose_name': 'patient password',
                        'verbose_name_plural': 'patient passwords',
                        'db_table': 'clinics_patientcredential',
                    },
                ),
                migrations.CreateModel(
                    name='ThrottleEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('scope', models.CharField(max_length=32)),
                        ('key', models.CharField(max_length=64)),
                        ('created', models.DateTimeField(db_index=True)),
                    ],
                    options={
                        'db_table': 'clinics_throttleevent',
                        'indexes': [models.Index(fields=['scope', 'key', 'created'], name='throttle_lookup')],
                    },
                ),
                migrations.CreateModel(
                    name='LoginChallenge',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('token', models.CharField(max_length=64, unique=True)),
                        ('purpose', models.CharField(choices=[('login', 'Login'), ('set_password', 'Set password')], max_length=16)),
                        ('code_hash', models.CharField(blank=True, max_length=128)),
                        ('code_sent_at', models.DateTimeField(blank=True, null=True)),
                        ('code_expires_at', models.DateTimeField(blank=True, null=True)),
                        ('wrong_tries', models.PositiveSmallIntegerField(default=0)),
                        ('verified_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('sent_to_last_digits', models.CharField(blank=True, max_length=4)),
                        ('code_serial', models.PositiveIntegerField(default=0)),
                        ('code_delivered_serial', models.PositiveIntegerField(default=0)),
                        ('language', models.CharField(blank=True, max_length=8)),
                        ('created', models.DateTimeField(auto_now_add=True)),
                        ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='clinics.clinic')),
                        ('patient', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='clinics.patient')),
                    ],
                    options={
                        'db_table': 'clinics_loginchallenge',
                        'indexes': [models.Index(fields=['created'], name='challenge_created')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
