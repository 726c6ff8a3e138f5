import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from drf_multistatus.models import BulkJob


class Command(BaseCommand):
    help = "Deletes background jobs (and their stored results) that ended some days ago."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=float, default=7, help="age after the end (7)")

    def handle(self, *args: Any, **options: Any) -> None:
        before = timezone.now() - datetime.timedelta(days=options["days"])
        _total, deleted = BulkJob.objects.filter(finished__lt=before).delete()
        self.stdout.write(f"Deleted {deleted.get(BulkJob._meta.label, 0)} job(s).")
