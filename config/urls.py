"""URLs with credentials: secrets interpolated into them are percent-encoded, and redaction works by structure.

A password such as `Sl/ash` or `a b@c` written into `rtsp://admin:${PW}@host/s` would otherwise end the
authority early (the camera cannot connect) and defeat any pattern that looks for `user:pass@`. So the value of
each ${VAR} that lands in a URL's userinfo or query is percent-encoded (RFC 3986 2.1; FFmpeg and redis-py decode
it), and the credentials of every URL the config holds are remembered so that they are masked wherever they
appear in text (FFmpeg and driver messages quote URLs), in their raw and their encoded forms.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, unquote, urlsplit

_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")
_AUTHORITY_END = re.compile(r"[/?#\s'\"<>]")
_TEMPLATE_AUTHORITY_END = re.compile(r"[/?#]")
_SECRET_PARAMS = re.compile(r"(?P<key>[?&](?:user(?:name)?|pass(?:word|wd)?|pwd|token|auth|key)=)[^&#\s'\"]*",
                            re.IGNORECASE)
MIN_REMEMBERED = 6  # shorter secrets are masked only where the URL structure shows them, not anywhere in text
MASK = "***"


class _KnownSecrets:
    """Credentials seen in the loaded config, masked in any text. Written at load time, read by every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()

    def add(self, secret: str) -> None:
        forms = {secret, quote(secret, safe=""), unquote(secret)}
        with self._lock:
            merged = set(self._values) | {f for f in forms if len(f) >= MIN_REMEMBERED}
            self._values = tuple(sorted(merged, key=len, reverse=True))  # longest first: no partial leftovers

    def mask(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        return text


KNOWN_SECRETS = _KnownSecrets()


def remember_secret(secret: str) -> None:
    """Mask `secret` (and its percent-encoded form) in every redacted text from now on."""
    if secret:
        KNOWN_SECRETS.add(secret)


def redact_url(text: str) -> str:
    """`text` with the userinfo of every URL, credential query parameters and every known secret masked."""
    return _SECRET_PARAMS.sub(rf"\g<key>{MASK}", _mask_userinfo(KNOWN_SECRETS.mask(text)))


def _mask_userinfo(text: str) -> str:
    out, pos = [], 0
    for match in _SCHEME.finditer(text):
        if match.start() < pos:
            continue
        start = match.end()
        end_match = _AUTHORITY_END.search(text, start)
        end = end_match.start() if end_match else len(text)
        at = text.rfind("@", start, end)
        if at < 0:
            at = _raw_at(text, start)  # a raw '/' in a password ends the authority early: look past it
        if at >= 0:
            out += [text[pos:start], MASK]
            pos = at
    return "".join(out) + text[pos:]


def _raw_at(text: str, start: int) -> int:
    """The '@' of a userinfo that holds a raw '/', '?' or '#': the last '@' before whitespace or a quote."""
    stop = re.compile(r"[\s'\"<>]").search(text, start)
    end = stop.start() if stop else len(text)
    at = text.rfind("@", start, end)
    return at if at >= 0 and ":" in text[start:at] else -1


def userinfo_span(url: str) -> tuple[int, int] | None:
    """(start, end) of the userinfo in a URL template, by structure: after '://', up to the last '@' of the
    authority; None when it has none. Placeholders (${VAR}) are still unexpanded, so '/' ends the authority;
    a template is one config value, so a space (say in a user name) does not end it as it would in free text."""
    match = _SCHEME.match(url)
    if not match:
        return None
    end_match = _TEMPLATE_AUTHORITY_END.search(url, match.end())
    end = end_match.start() if end_match else len(url)
    at = url.rfind("@", match.end(), end)
    return (match.end(), at) if at >= 0 else None


def encode_component(value: str) -> str:
    """A value for a URL's userinfo or query: every reserved character percent-encoded."""
    return quote(value, safe="")


def url_problem(url: str, schemes: tuple[str, ...]) -> str | None:
    """Why `url` cannot be used (never quoting its credentials), or None when it parses."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        port_text = url.split("://", 1)[-1].split("/", 1)[0].rpartition(":")[2]
        if port_text.isdigit():
            return "has a port outside 1..65535"
        return ("does not parse as a URL (a character such as '/', '@', '?' or '#' in the user name or password "
                "must be percent-encoded, e.g. '/' as %2F; a value from ${VAR} is encoded for you)")
    if parts.scheme not in schemes:
        return f"must start with {' or '.join(s + '://' for s in schemes)}"
    if parts.scheme != "unix" and not parts.hostname:
        return "names no host"
    return None if port is None or 0 < port < 65536 else "has a port outside 1..65535"
