"""The HTTP API and web console: `create_app(ctx)` for the composition root, `check_bind(settings)` before it."""

from service.api.app import create_app
from service.api.auth import check_bind, is_loopback

__all__ = ["check_bind", "create_app", "is_loopback"]
