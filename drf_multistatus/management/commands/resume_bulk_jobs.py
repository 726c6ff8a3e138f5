from typing import Any

from django.core.management.base import BaseCommand

from drf_multistatus.tasks import resume_if_stale, stale_jobs


class Command(BaseCommand):
    help = (
        "Enqueues again the background jobs whose worker stopped (no heartbeat for "
        "JOB_STALE_AFTER seconds): run it from cron, or after restarting workers."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        resumed = sum(resume_if_stale(job) for job in stale_jobs())
        self.stdout.write(f"Resumed {resumed} job(s).")
