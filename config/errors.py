"""The root of Vigil's exception tree and the configuration error."""

from __future__ import annotations

from dataclasses import dataclass


class VigilError(Exception):
    """Base of every error Vigil raises on purpose; each package derives its own."""


@dataclass(frozen=True)
class ConfigIssue:
    """One invalid key: where it is, what it held (secrets masked), and what is allowed."""

    path: str
    message: str
    value: str | None = None

    def __str__(self) -> str:
        shown = f" (got {self.value})" if self.value is not None else ""
        return f"{self.path}: {self.message}{shown}"


class ConfigError(VigilError):
    """The configuration is invalid; carries every issue found, not just the first."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(f"{source}: {len(issues)} invalid setting(s):\n{lines}")
