"""The one-screen summary `vigil check-config` prints for a valid configuration."""

from __future__ import annotations

from config.cameras import CameraSettings, RtspSource
from config.loader import redact_url
from config.rules import RuleSettings
from config.settings import VigilSettings


def summarize(settings: VigilSettings, source: str) -> str:
    lines = [f"{source}: valid", ""]
    lines += _service_lines(settings)
    lines += ["", f"cameras ({len(settings.cameras)}):"]
    lines += [f"  {_camera_line(c)}" for c in settings.cameras] or ["  (none)"]
    lines += ["", f"rules ({len(settings.rules)}):"]
    known = [c.id for c in settings.cameras]
    lines += [f"  {_rule_line(r, known)}" for r in settings.rules] or ["  (none)"]
    return "\n".join(lines)


def _service_lines(settings: VigilSettings) -> list[str]:
    redis = redact_url(settings.redis.url.get_secret_value()) if settings.redis.url else "embedded redis-server"
    engine = settings.engine
    model = f"{engine.model} ({engine.model_path})" if engine.model_path else engine.model
    token = "set" if settings.api.token else "none"
    return [
        f"state_dir  {settings.state_dir}",
        f"redis      {redis} (stream {settings.redis.stream})",
        f"engine     {model if engine.enabled else 'disabled'} on {engine.device}/{engine.dtype}, "
        f"{engine.fps:g} fps, retention {engine.retention_s:g} s",
        f"api        http://{settings.api.host}:{settings.api.port} (token {token})",
    ]


def _camera_line(camera: CameraSettings) -> str:
    source = camera.source
    where = redact_url(source.url.get_secret_value()) if isinstance(source, RtspSource) else source.type
    state = "" if camera.enabled else "  [disabled]"
    return f"{camera.id:<20} {where}  sampled at {camera.fps:g} fps{state}"


def _rule_line(rule: RuleSettings, known: list[str]) -> str:
    cameras = ",".join(rule.camera_ids(known))
    timing = f"every {rule.every_s:g}s, for {rule.for_s:g}s, {rule.severity}"
    state = "" if rule.enabled else "  [disabled]"
    return f"{rule.id:<20} {rule.condition.type:<15} on {cameras}  ({timing}){state}"
