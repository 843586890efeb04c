"""The root settings model: one YAML file plus VIGIL_* environment overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.base import FsPath
from config.cameras import CameraSettings
from config.cluster import ClusterSettings
from config.engine import EngineSettings
from config.rules import RuleSettings
from config.service import ApiSettings, LoggingSettings, RedisSettings
from config.storage import StorageSettings


class VigilSettings(BaseSettings):
    """Everything the service reads, validated once; never mutated after loading."""

    model_config = SettingsConfigDict(
        env_prefix="VIGIL_", env_nested_delimiter="__", extra="forbid", frozen=True, case_sensitive=False
    )

    state_dir: FsPath = Field(
        Path("./state"), description="everything the service writes: caches, footage, outbox, Redis data"
    )
    logging: LoggingSettings = Field(default_factory=LoggingSettings, description="log level and format")
    api: ApiSettings = Field(default_factory=ApiSettings, description="HTTP API and web console")
    redis: RedisSettings = Field(default_factory=RedisSettings, description="where alerts are published")
    engine: EngineSettings = Field(default_factory=EngineSettings, description="the video-language model")
    storage: StorageSettings = Field(default_factory=StorageSettings, description="footage on disk and clips")
    cameras: list[CameraSettings] = Field(default_factory=list, description="the cameras to watch")
    rules: list[RuleSettings] = Field(default_factory=list, description="the questions and detectors that raise alerts")
    cluster: ClusterSettings = Field(
        default_factory=ClusterSettings, description="cluster mode (`vigil run --cluster`): Ray, node resources"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first: VIGIL_* overrides what the YAML file says.
        return (env_settings, init_settings)

    def camera(self, camera_id: str) -> CameraSettings:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        raise KeyError(camera_id)

    def rules_for(self, camera_id: str) -> list[RuleSettings]:
        known = [c.id for c in self.cameras]
        return [r for r in self.rules if r.enabled and camera_id in r.camera_ids(known)]


def settings_from_dict(data: dict[str, Any]) -> VigilSettings:
    return VigilSettings(**data)
