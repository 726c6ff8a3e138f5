from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from drf_multistatus.models import IdempotencyRecord


class Command(BaseCommand):
    help = "Deletes the Idempotency-Key records whose time to live (IDEMPOTENCY_KEY_TTL) is over."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        expired = IdempotencyRecord.objects.using(options["database"]).filter(
            expires__lte=timezone.now()
        )
        count, _ = expired.delete()
        self.stdout.write(f"Deleted {count} expired idempotency record(s).")
