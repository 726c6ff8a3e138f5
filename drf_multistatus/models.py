"""What drf-multistatus keeps in the database: the outcome of each request sent with an
``Idempotency-Key``."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyRecord(models.Model):
    """One key's request and, once it finished, its outcome.

    The row is created before the request runs; its outcome is written in the same transaction
    as the request's own writes, so the two are committed together or not at all.
    """

    scope = models.CharField(max_length=150, help_text="Whose key: user:<pk>, or anonymous.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request.")
    status = models.PositiveSmallIntegerField(null=True, help_text="None until it finished.")
    data = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    headers = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="drf_multistatus_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"

    @property
    def finished(self) -> bool:
        return self.status is not None
