"""The bulk verbs, each a small operation with a per-item and a set-based path."""

from .base import Operation
from .create import Create
from .destroy import Destroy
from .update import Update
from .upsert import Upsert

__all__ = ["Create", "Destroy", "Operation", "Update", "Upsert"]
