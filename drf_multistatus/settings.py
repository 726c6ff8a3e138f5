"""Settings for drf-multistatus, read from the ``DRF_MULTISTATUS`` dict in Django settings.

Works like DRF's ``api_settings``: ``multistatus_settings.MAX_BATCH_SIZE`` returns the project's
value or the default, and the cache is cleared when ``override_settings`` changes the dict.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

SETTINGS_NAME = "DRF_MULTISTATUS"

ALWAYS = "always"
WHEN_MIXED = "when-mixed"
STATUS_STYLE = "status"
PROPSTAT_STYLE = "propstat"

DEFAULTS: dict[str, Any] = {
    # Largest number of items one bulk request may carry; more answers 413. None: no limit.
    "MAX_BATCH_SIZE": 1000,
    # Outer status: "always" answers 207 for every bulk request; "when-mixed" answers the one
    # shared item status when every item has it (e.g. 201) and 207 only when outcomes differ.
    "OUTER_STATUS": ALWAYS,
    # Default for views that do not set ``atomic_batch``: all-or-nothing batches.
    "ATOMIC": False,
    # Whether clients may choose all-or-nothing per request with ``?atomic=true|false``.
    "ALLOW_ATOMIC_PARAM": True,
    # Name of that query parameter.
    "ATOMIC_PARAM": "atomic",
    # Path segment that names a request item in the XML href of an item with no resource (a
    # failed create): ``/api/contacts/~item/3``, distinct from every other href by path.
    "ITEM_PATH": "~item",
    # Validation error codes that make an item 409 Conflict (not 422) when they are its only errors.
    "CONFLICT_CODES": ["unique"],
    # How the XML body writes an item: "status" (a d:status, data in ms:data) or "propstat"
    # (fields as d:prop properties in d:propstat, as PROPFIND and PROPPATCH answer).
    "XML_STYLE": STATUS_STYLE,
    # Whether bulk requests (and single POSTs on bulk views) must carry an Idempotency-Key.
    "IDEMPOTENCY_KEY_REQUIRED": False,
    # Seconds a key's outcome is kept for replay; `manage.py prune_idempotency_keys` deletes
    # expired ones.
    "IDEMPOTENCY_KEY_TTL": 24 * 60 * 60,
    # Whether anonymous requests may send keys (they share one anonymous scope).
    "IDEMPOTENCY_ALLOW_ANONYMOUS": True,
    # Largest batch `Prefer: respond-async` takes (MAX_BATCH_SIZE is the synchronous limit).
    "MAX_BACKGROUND_BATCH_SIZE": 1_000_000,
    # Largest body of such a request, in bytes, whatever DATA_UPLOAD_MAX_MEMORY_SIZE says (its
    # items are read as they arrive and stored in chunks). None: no limit.
    "MAX_BACKGROUND_BODY_SIZE": 512 * 1024 * 1024,
    # Items per chunk of a background job: each commits with the job's progress.
    "JOB_CHUNK_SIZE": 1000,
    # Seconds without a heartbeat after which a running job's worker is taken for dead and the
    # job is enqueued again (longer than the slowest chunk takes).
    "JOB_STALE_AFTER": 300,
    # Path of the job resources on the bulk routers.
    "JOB_URL_PREFIX": "bulk-jobs",
    # An ended job's GET holds every result up to this many items; past it, the summary and the
    # first page of results, with a link to the next (`<job>/results/`).
    "JOB_INLINE_RESULTS": 10_000,
    # Jobs a user (or the anonymous clients together) may have queued or running at once; one
    # more answers 429 with Retry-After. None: no limit.
    "MAX_ACTIVE_JOBS": 10,
    # Whether `Prefer: tx=rollback` runs a bulk request as a dry run (rolled back once answered);
    # where not, the preference is ignored, or with `handling=strict` refused.
    "ALLOW_DRY_RUN": True,
    # The key of an update, delete or upsert item that holds its If-Match: the etag its target
    # must have (a CSV column, an XML element of that name).
    "IF_MATCH_KEY": "_if_match",
}

VALID_OUTER_STATUS = (ALWAYS, WHEN_MIXED)


class MultiStatusSettings:
    """Lazy, cached view of ``settings.DRF_MULTISTATUS`` with defaults."""

    def __init__(self, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._cached: set[str] = set()

    @property
    def user_settings(self) -> dict[str, Any]:
        if not hasattr(self, "_user_settings"):
            self._user_settings = getattr(settings, SETTINGS_NAME, {}) or {}
            unknown = set(self._user_settings) - set(self.defaults)
            if unknown:
                raise RuntimeError(
                    f"Unknown {SETTINGS_NAME} setting(s): {', '.join(sorted(unknown))}. "
                    f"Valid settings: {', '.join(sorted(self.defaults))}."
                )
            style = self._user_settings.get("XML_STYLE", STATUS_STYLE)
            if style not in (STATUS_STYLE, PROPSTAT_STYLE):
                raise RuntimeError(
                    f"{SETTINGS_NAME}['XML_STYLE'] must be {STATUS_STYLE!r} or "
                    f"{PROPSTAT_STYLE!r}, not {style!r}."
                )
            outer = self._user_settings.get("OUTER_STATUS", ALWAYS)
            if outer not in VALID_OUTER_STATUS:
                raise RuntimeError(
                    f"{SETTINGS_NAME}['OUTER_STATUS'] must be one of {VALID_OUTER_STATUS}, "
                    f"not {outer!r}."
                )
        return self._user_settings

    def __getattr__(self, attr: str) -> Any:
        if attr not in self.defaults:
            raise AttributeError(f"Invalid {SETTINGS_NAME} setting: {attr!r}")
        value = self.user_settings.get(attr, self.defaults[attr])
        self._cached.add(attr)
        setattr(self, attr, value)
        return value

    def reload(self) -> None:
        for attr in self._cached:
            delattr(self, attr)
        self._cached.clear()
        if hasattr(self, "_user_settings"):
            delattr(self, "_user_settings")


multistatus_settings = MultiStatusSettings(DEFAULTS)


def view_setting(view: Any, attribute: str, name: str) -> Any:
    """The view's ``attribute``, or the ``name`` setting where the view leaves it at ``None``.

    Read at request time, so ``override_settings`` reaches views that keep the default.
    """
    value = getattr(view, attribute, None)
    return getattr(multistatus_settings, name) if value is None else value


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTINGS_NAME:
        multistatus_settings.reload()


setting_changed.connect(_reload)
