from typing import Any

from django.conf import settings
from django.db import migrations, models


def mark_anonymous(apps: Any, schema_editor: Any) -> None:
    """Before this migration a job had no owner only when it was submitted anonymously."""
    BulkJob = apps.get_model("drf_multistatus", "BulkJob")
    BulkJob.objects.using(schema_editor.connection.alias).filter(owner__isnull=True).update(
        anonymous=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("drf_multistatus", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="bulkjob",
            name="anonymous",
            field=models.BooleanField(
                default=False,
                help_text="Submitted without a user. A job whose user was deleted has neither: "
                "its remaining items are refused.",
            ),
        ),
        migrations.RunPython(mark_anonymous, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="bulkjob",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=models.deletion.SET_NULL,
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
