"""Chunk records on disk: one safetensors file per sealed chunk, written atomically, refused when not ours.

Each file carries its own manifest in the safetensors metadata (format, model fingerprint, camera, chunk sequence,
stream epoch, time range, token layout) and a SHA-256 of its tensors, so a file is valid or refused on its own: a
torn write, a flipped byte or another model's cache is discarded with a warning and never loaded. The files are
the dense tier: a pooled chunk is read back dense from here when a question selects it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import structlog
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from config.files import write_atomic
from engine.records import ChunkLayout, ChunkRecord

log = structlog.get_logger(__name__)

FORMAT = "vigil-kv-1"
_TENSORS = ("k", "v", "rel")


@dataclass(frozen=True)
class Restored:
    """What a camera's directory held: its stream epoch, sealed chunks (oldest first) and the open chunk, if any."""

    epoch: float
    sealed: list[ChunkRecord]
    open: ChunkRecord | None


class RefusedFile(Exception):
    """A chunk file that must not be loaded; the message says why."""


class ChunkFiles:
    """One camera's chunk files under <state_dir>/engine/<camera_id>/; used only by the engine thread."""

    def __init__(self, directory: Path, camera_id: str, fingerprint: str, device: torch.device) -> None:
        self.directory = directory
        self.camera_id = camera_id
        self.fingerprint = fingerprint
        self.device = device
        self._log = log.bind(camera_id=camera_id)

    def path(self, seq: int) -> Path:
        return self.directory / f"chunk-{seq:09d}.safetensors"

    def write(self, record: ChunkRecord, epoch: float, sealed: bool = True) -> None:
        """Temp file, fsync, rename, fsync the directory: a reader sees the old state or the whole new file.
        An open (unsealed) chunk is written at shutdown, and replaced by the sealed one later."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tensors = {"k": record.k, "v": record.v, "rel": record.rel}
        tensors = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
        data = st_save(tensors, metadata=self._manifest(record, epoch, sealed, _digest(tensors)))
        write_atomic(self.path(record.seq), data, sync_dir=True)

    def _manifest(self, record: ChunkRecord, epoch: float, sealed: bool, digest: str) -> dict[str, str]:
        return {"sealed": "1" if sealed else "0",
            "format": FORMAT, "fingerprint": self.fingerprint, "camera": self.camera_id, "seq": str(record.seq),
            "epoch": repr(epoch), "t_first": repr(record.t_first), "t_last": repr(record.t_last),
            "ts_lens": json.dumps(list(record.layout.ts_lens)), "vis_len": str(record.layout.vis_len),
            "sha256": digest,
        }

    def read(self, seq: int) -> ChunkRecord | None:
        """The dense record of chunk `seq`, or None (with a warning) if the file is missing or refused."""
        try:
            return self._load(self.path(seq))[2]
        except RefusedFile as exc:
            self._log.warning("engine.chunk_file_refused", path=str(self.path(seq)), reason=str(exc))
            return None

    def delete(self, seq: int) -> None:
        self.path(seq).unlink(missing_ok=True)

    def restore(self) -> Restored | None:
        """Every valid chunk of the newest epoch, oldest first; refused and stale files are deleted with a warning.
        Only the newest chunk may be open (a crash between an open write and its seal leaves nothing else)."""
        if not self.directory.is_dir():
            return None
        for tmp in self.directory.glob("*.tmp"):
            self._discard(tmp, "unfinished write")
        loaded = [item for path in sorted(self.directory.glob("chunk-*.safetensors")) if (item := self._try(path))]
        if not loaded:
            return None
        epoch = loaded[-1][0]
        for old_epoch, _, rec in loaded:
            if old_epoch != epoch:
                self._discard(self.path(rec.seq), "from an earlier stream epoch")
        kept = [(sealed, rec) for e, sealed, rec in loaded if e == epoch]
        tail = kept[-1][1] if not kept[-1][0] else None
        return Restored(epoch, [rec for _, rec in kept if rec is not tail], tail)

    def _try(self, path: Path) -> tuple[float, bool, ChunkRecord] | None:
        try:
            return self._load(path)
        except RefusedFile as exc:
            self._discard(path, str(exc))
        except Exception as exc:  # checksum fine, contents not what this version writes (shapes, metadata)
            self._discard(path, f"unreadable contents ({type(exc).__name__}: {exc})")
        return None

    def _discard(self, path: Path, reason: str) -> None:
        self._log.warning("engine.chunk_file_discarded", path=str(path), reason=reason)
        path.unlink(missing_ok=True)

    def _load(self, path: Path) -> tuple[float, bool, ChunkRecord]:
        try:
            data = path.read_bytes()
            tensors = st_load(data)
            meta = _metadata(data)
        except (OSError, SafetensorError, ValueError) as exc:
            raise RefusedFile(f"unreadable or torn: {exc}") from exc
        try:
            self._check(meta, tensors, path)
        except ValueError as exc:
            raise RefusedFile(f"bad manifest: {exc}") from exc
        return _record(meta, {name: t.to(self.device) for name, t in tensors.items()})

    def _check(self, meta: dict[str, str], tensors: dict[str, torch.Tensor], path: Path) -> None:
        if meta.get("format") != FORMAT:
            raise RefusedFile(f"format {meta.get('format')!r}, expected {FORMAT!r}")
        if meta.get("fingerprint") != self.fingerprint:
            raise RefusedFile(f"written by model {meta.get('fingerprint')!r}, this engine runs {self.fingerprint!r}")
        if meta.get("camera") != self.camera_id:
            raise RefusedFile(f"belongs to camera {meta.get('camera')!r}")
        if set(tensors) != set(_TENSORS) or meta.get("sha256") != _digest(tensors):
            raise RefusedFile("checksum mismatch: the file is corrupt")
        if path.name != self.path(int(meta.get("seq", "-1") or "-1")).name:
            raise RefusedFile(f"named {path.name} but holds chunk {meta.get('seq')}")


def _metadata(data: bytes) -> dict[str, str]:
    """The safetensors header's __metadata__ (the file's manifest)."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    meta = header.get("__metadata__")
    if not isinstance(meta, dict):
        raise ValueError("no manifest in the file header")
    return {str(k): str(v) for k, v in meta.items()}


def _record(meta: dict[str, str], tensors: dict[str, torch.Tensor]) -> tuple[float, bool, ChunkRecord]:
    try:
        layout = ChunkLayout(tuple(json.loads(meta["ts_lens"])), int(meta["vis_len"]))
        rec = ChunkRecord(int(meta["seq"]), float(meta["t_first"]), float(meta["t_last"]), layout, **tensors)
        epoch = float(meta["epoch"])
    except (KeyError, ValueError, TypeError) as exc:
        raise RefusedFile(f"bad manifest: {exc}") from exc
    if rec.k.shape[2] != layout.tokens or rec.rel.shape[0] != layout.groups:
        raise RefusedFile(f"tensor shapes {tuple(rec.k.shape)} do not match the manifest's layout")
    return epoch, meta.get("sealed") != "0", rec


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in _TENSORS:
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode() + str(t.dtype).encode())
        h.update(t.view(-1).view(torch.uint8).numpy().data)
    return h.hexdigest()
