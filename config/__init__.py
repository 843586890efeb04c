"""Typed settings for Vigil, parsed and validated once."""

from config.errors import ConfigError, ConfigIssue, VigilError
from config.loader import DEMO_CONFIG, load_settings, redact_url
from config.settings import VigilSettings

__all__ = ["DEMO_CONFIG", "ConfigError", "ConfigIssue", "VigilError", "VigilSettings", "load_settings", "redact_url"]
