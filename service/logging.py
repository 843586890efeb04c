"""structlog set-up: readable on a terminal, JSON lines otherwise; stdlib logging routed through it."""

from __future__ import annotations

import logging
import sys

import structlog

from config.service import LoggingSettings
from config.urls import redact_url


def configure_logging(settings: LoggingSettings) -> None:
    """Configure once, at the composition root; everything else only calls structlog.get_logger()."""
    as_json = settings.format == "json" or (settings.format == "auto" and not sys.stderr.isatty())
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redact_secrets,  # last before rendering: messages, values and tracebacks alike
    ]
    level = getattr(logging, settings.level.upper())
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    _route_stdlib(level, [*shared, renderer])


def _route_stdlib(level: int, processors: list[structlog.types.Processor]) -> None:
    # Third-party libraries (uvicorn, aiortc, httpx) log through stdlib logging; give them the same format.
    formatter = structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, processors[-1]],
        foreign_pre_chain=processors[:-1],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(level, logging.INFO))
    for noisy in ("aioice", "aiortc", "libav", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def redact_secrets(_: object, __: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    """Mask credentials in every text of a log event (config.urls.redact_url): third-party messages and
    tracebacks quote URLs with their passwords."""
    return {key: redact_url(value) if isinstance(value, str) else value for key, value in event.items()}
