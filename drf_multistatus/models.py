"""What drf-multistatus keeps in the database: the outcome of each request sent with an
``Idempotency-Key``, and the background jobs of ``Prefer: respond-async``."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyRecord(models.Model):
    """One key's request and its outcome, written in the same transaction as the request's own
    writes, so the two are committed together or not at all."""

    scope = models.CharField(max_length=150, help_text="Whose key: user:<pk>, or anonymous.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request.")
    status = models.PositiveSmallIntegerField()
    data = models.TextField(help_text="The body, as JSON text (cheaper to write than jsonb).")
    headers = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="drf_multistatus_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class BulkJob(models.Model):
    """A bulk request run in the background (``Prefer: respond-async``), chunk by chunk."""

    QUEUED, RUNNING, FINISHED = "queued", "running", "finished"
    CANCELLED, FAILED = "cancelled", "failed"
    STATES = [(s, s) for s in (QUEUED, RUNNING, FINISHED, CANCELLED, FAILED)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    anonymous = models.BooleanField(
        default=False,
        help_text="Submitted without a user. A job whose user was deleted has neither: its "
        "remaining items are refused.",
    )
    # The request, as the job replays it: which view, URL and headers, and the operation.
    method = models.CharField(max_length=10)
    base_uri = models.CharField(max_length=255, help_text="scheme://host of the request")
    path = models.CharField(max_length=2048, help_text="path and query of the request")
    headers = models.JSONField(default=dict)
    operation = models.CharField(max_length=255, help_text="dotted path of the Operation")
    options = models.JSONField(default=dict)
    atomic = models.BooleanField(default=False)
    minimal = models.BooleanField(default=False)
    dry_run = models.BooleanField(
        default=False, help_text="Prefer: tx=rollback: run, answer, and roll every write back."
    )
    request_id = models.CharField(
        max_length=200, blank=True, db_index=True, help_text="the submitting request's id"
    )
    # Progress.
    state = models.CharField(max_length=10, choices=STATES, default=QUEUED)
    total = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict)
    cancel_requested = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True)
    finished = models.DateTimeField(null=True)
    heartbeat = models.DateTimeField(null=True)
    outer_status = models.PositiveSmallIntegerField(null=True)
    fields = models.JSONField(
        default=list, help_text="the fields the items were submitted with, as first met"
    )
    retry_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retries",
        help_text="The job whose items this one sends again, under their indexes there.",
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.state}, {self.done}/{self.total})"

    @property
    def ended(self) -> bool:
        return self.state in (self.FINISHED, self.CANCELLED, self.FAILED)


class BulkJobChunk(models.Model):
    """A run of a job's items, and once run, their results: each chunk commits together with
    the job's progress and the chunk's own writes."""

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="chunks")
    start = models.PositiveIntegerField(help_text="position of the chunk's first item in the job")
    first_index = models.PositiveIntegerField(
        default=0, help_text="index of the chunk's first item (its position, but in a retry)"
    )
    indexes = models.JSONField(
        null=True, help_text="the items' indexes where they are not start, start + 1, …"
    )
    items = models.JSONField(encoder=DjangoJSONEncoder)
    results = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    statuses = models.JSONField(default=dict, help_text="how many results have each status")
    failures = models.JSONField(
        null=True, encoder=DjangoJSONEncoder, help_text="the results that failed, to page them"
    )

    class Meta:
        ordering = ["job", "start"]
        indexes = [models.Index(fields=["job", "first_index"], name="drf_multistatus_chunk_index")]
        constraints = [
            models.UniqueConstraint(fields=["job", "start"], name="drf_multistatus_unique_chunk")
        ]

    def __str__(self) -> str:
        return f"{self.job_id} [{self.start}:]"
