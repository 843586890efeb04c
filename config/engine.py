"""Engine settings: which model, where it runs, and how each camera's KV cache is shaped."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.base import FsPath, StrictModel


class EngineSettings(StrictModel):
    enabled: bool = Field(True, description="false runs ingest and the motion/presence rules without the model")
    model: Literal["tiny", "bench", "videoxl2"] = Field(
        "tiny", description="tiny: untrained, for tests and the demo; bench: real proportions, random weights; "
        "videoxl2: the released model, needs model_path"
    )
    model_path: FsPath | None = Field(None, description="local Video-XL-2 checkpoint directory (Hugging Face layout)")
    device: str = Field("cpu", description="torch device: cpu, cuda, cuda:1, ...")
    dtype: Literal["float32", "bfloat16", "float16"] = Field("float32", description="weights and KV dtype")
    seed: int = Field(0, description="seed for the tiny/bench presets' random weights")
    fps: float = Field(1.0, gt=0, le=8, description="frames per second the model encodes (4 frames make a group)")
    chunk_groups: int = Field(4, ge=1, le=16, description="4-frame groups per prefill chunk")
    window_chunks: int = Field(3, ge=1, le=32, description="older chunks a new chunk attends to in full")
    dense_chunks: int = Field(4, ge=1, le=64, description="newest chunks kept dense in memory; older are pooled 4x")
    top_k: int = Field(2, ge=0, le=32, description="chunks most relevant to a question read back dense")
    retention_s: float = Field(600.0, gt=0, le=86400, description="seconds of video kept in each camera's cache")
    queue_size: int = Field(256, ge=8, le=100000, description="bound of the engine's job queue")
    max_lag_s: float = Field(30.0, gt=0, le=3600, description="past this lag the engine drops whole groups")
    max_new_tokens: int = Field(64, ge=1, le=1024, description="cap on a free-text answer")
    persist: bool = Field(True, description="write every chunk's KV under state_dir and restore it on restart")
    cached_views: int = Field(
        1, ge=0, le=8, description="question views kept per camera until its next append, to be extended rather than "
        "rebuilt; each costs about the camera's KV store again (docs/benchmarks.md); 0 builds a view for each batch "
        "and frees it, so a camera holds its store alone"
    )
    prompt_time_period_s: float = Field(
        3600.0, ge=60, le=86400, description="the prompt's 'Time {t}s:' counts seconds since the stream began modulo "
        "this period, so prompt times stay in the range the model was trained on (videos of up to ~2 h) however "
        "long a camera streams; at least retention_s (docs/architecture.md, 'Prompt times')"
    )
    batch_cameras: int = Field(
        16, ge=1, le=1024, description="cameras whose waiting groups one engine round encodes and prefills together "
        "(1 = one camera at a time)"
    )
    batch_tokens: int = Field(
        8192, ge=64, le=1_000_000, description="most new language-model tokens in one batched prefill forward "
        "(a group is ~150 tokens); bounds activation memory and how long a question can wait behind one layer"
    )
    encode_pass_groups: int = Field(
        8, ge=1, le=1024, description="4-frame groups per vision pass; a question waits at most one layer of one "
        "pass, so small passes favour question latency, large ones accelerator throughput"
    )
    batch_questions: int = Field(
        64, ge=1, le=4096, description="most waiting questions (of any cameras) answered in one round"
    )

    @model_validator(mode="after")
    def _checkpoint_for_real_model(self) -> EngineSettings:
        if self.model == "videoxl2" and self.model_path is None:
            raise ValueError("model 'videoxl2' needs engine.model_path: a local checkpoint directory")
        return self

    @model_validator(mode="after")
    def _window_is_dense(self) -> EngineSettings:
        # a new chunk attends to the full KV of the last window_chunks chunks, so those must still be dense
        if self.window_chunks > self.dense_chunks:
            raise ValueError(
                f"engine.window_chunks ({self.window_chunks}) must not exceed engine.dense_chunks "
                f"({self.dense_chunks}): chunks in the prefill window must be kept dense"
            )
        return self

    @model_validator(mode="after")
    def _prompt_times_unambiguous(self) -> EngineSettings:
        # a period shorter than the retention would show two different moments of the cache under one prompt time
        if self.prompt_time_period_s < self.retention_s:
            raise ValueError(
                f"engine.prompt_time_period_s ({self.prompt_time_period_s:g}) must be at least engine.retention_s "
                f"({self.retention_s:g}): raise the period or shorten the retention"
            )
        return self

    @model_validator(mode="after")
    def _read_back_has_a_dense_tier(self) -> EngineSettings:
        # without chunk files there is nothing to read a pooled chunk back from: top_k would silently do nothing
        if self.top_k > 0 and not self.persist:
            raise ValueError(
                f"engine.top_k ({self.top_k}) reads selected chunks back dense from the chunk files, and "
                "engine.persist is false: set engine.persist: true, or engine.top_k: 0 to answer from the pooled "
                "chunks alone"
            )
        return self
