"""Errors the alerts package raises on purpose."""

from __future__ import annotations

from config.errors import VigilError


class AlertsError(VigilError):
    """Base of the alerts package's errors."""


class PublishError(AlertsError):
    """An alert event could not be published nor kept in the outbox."""


class OutboxError(AlertsError):
    """The on-disk outbox cannot be read or written (check the state directory's permissions and free space)."""
