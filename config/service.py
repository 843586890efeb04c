"""Service-wide settings: logging, the HTTP API and Redis."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from config.base import StrictModel


class LoggingSettings(StrictModel):
    level: Literal["debug", "info", "warning", "error"] = Field("info", description="lowest level logged")
    format: Literal["auto", "json", "console"] = Field(
        "auto", description="auto: readable on a terminal, JSON lines otherwise"
    )


class ApiSettings(StrictModel):
    enabled: bool = Field(True, description="serve the HTTP API and web console")
    host: str = Field("127.0.0.1", description="bind address; anything but loopback requires a token")
    port: int = Field(8080, ge=0, le=65535, description="TCP port (0 picks a free one)")
    token: SecretStr | None = Field(None, description="bearer token; use ${VIGIL_API_TOKEN} to keep it out of the file")
    max_question_chars: int = Field(500, ge=1, le=4000, description="longest question accepted")
    max_window_s: float = Field(600.0, gt=0, description="longest window a question may ask about")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="largest request body accepted")

    @field_validator("token")
    @classmethod
    def _usable_token(cls, value: SecretStr | None) -> SecretStr | None:
        """A token a client can send in an Authorization header: printable ASCII, not blank, no outer spaces."""
        if value is None:
            return None
        text = value.get_secret_value()
        if not text.strip():
            raise ValueError("is blank; set a real token (e.g. token: ${VIGIL_API_TOKEN}) or remove the key")
        if text != text.strip() or not all(32 <= ord(c) < 127 for c in text):
            raise ValueError("must be printable ASCII without leading or trailing spaces (an HTTP header "
                             "cannot carry anything else)")
        return value


class RedisSettings(StrictModel):
    url: SecretStr | None = Field(
        None, description="redis:// URL of an external server; unset starts an embedded redis-server"
    )
    embedded_port: int = Field(
        6390, ge=0, le=65535, description="loopback port of the embedded redis-server when url is unset "
        "(fixed, so consumers can find it; 0 picks a free one, shown by `vigil info`)"
    )
    stream: str = Field("vigil:alerts", description="stream that alert events are appended to")
    stream_maxlen: int = Field(100_000, ge=100, description="approximate cap on the stream's length")
    channel_prefix: str = Field("vigil:alerts", description="live events go to '{prefix}:{camera_id}'")
    status_channel: str = Field("vigil:status", description="channel for camera health events")
    connect_timeout_s: float = Field(5.0, gt=0, le=120, description="timeout of one connection attempt")
    retry_s: float = Field(2.0, gt=0, le=300, description="wait between reconnection attempts")
    outbox_max_bytes: int = Field(64 * 1024**2, ge=1024, description="on-disk outbox bound while Redis is away")
