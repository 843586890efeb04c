"""Chunk records on disk: one safetensors file per sealed chunk, written atomically, refused when not ours.

Each file carries its own manifest in the safetensors metadata (format, model fingerprint, camera, chunk sequence,
stream epoch, time range, token layout, sealed flag, groups encoded) and a SHA-256 over the whole record (the
manifest and the tensors), so a file is valid or refused on its own: a torn write, a changed digit in the manifest,
a flipped byte or another model's cache is never loaded. A refused file is moved aside with the reason
(quarantine.py), never deleted, and one bad file never costs a good one: a hole it leaves is visible (gaps.py).
The files are the dense tier: a pooled chunk is read back dense from here when a question selects it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import structlog
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from config.files import write_atomic
from engine.quarantine import quarantine
from engine.records import ChunkLayout, ChunkRecord

log = structlog.get_logger(__name__)

FORMAT = "vigil-kv-2"  # 2: the checksum covers the manifest too
_TENSORS = ("k", "v", "rel")


@dataclass(frozen=True)
class Restored:
    """What a camera's directory held: its stream epoch, sealed chunks (oldest first) and the open chunk, if any."""

    epoch: float
    sealed: list[ChunkRecord]
    open: ChunkRecord | None
    groups_encoded: int = 0  # the stream's count of encoded groups when its newest restored chunk was written


@dataclass(frozen=True)
class _Loaded:
    """One valid file: its record and what the manifest says about the stream."""

    epoch: float
    sealed: bool
    groups_encoded: int
    record: ChunkRecord


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

    def write(self, record: ChunkRecord, epoch: float, sealed: bool = True, groups_encoded: int = 0) -> None:
        """Temp file, fsync, rename, fsync the directory: a reader sees the old state or the whole new file.
        An open (unsealed) chunk is written at shutdown, and replaced by the sealed one later."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tensors = {"k": record.k, "v": record.v, "rel": record.rel}
        tensors = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
        meta = self._manifest(record, epoch, sealed, groups_encoded)
        meta["sha256"] = _digest(tensors, meta)
        write_atomic(self.path(record.seq), st_save(tensors, metadata=meta), sync_dir=True)

    def _manifest(self, record: ChunkRecord, epoch: float, sealed: bool, groups_encoded: int) -> dict[str, str]:
        return {"sealed": "1" if sealed else "0",
            "format": FORMAT, "fingerprint": self.fingerprint, "camera": self.camera_id, "seq": str(record.seq),
            "epoch": repr(epoch), "t_first": repr(record.t_first), "t_last": repr(record.t_last),
            "ts_lens": json.dumps(list(record.layout.ts_lens)), "vis_len": str(record.layout.vis_len),
            "groups_encoded": str(groups_encoded),
        }

    def read(self, seq: int) -> ChunkRecord | None:
        """The dense record of chunk `seq`, or None (with a warning) if the file is missing or refused; a refused
        file is quarantined."""
        path = self.path(seq)
        if not path.exists():
            self._log.warning("engine.chunk_file_missing", path=str(path), chunk_seq=seq)
            return None
        loaded = self._try(path)
        return loaded.record if loaded is not None else None

    def delete(self, seq: int) -> None:
        """Retention: the chunk left the window, its file goes (this is the only deletion of a chunk file)."""
        self.path(seq).unlink(missing_ok=True)

    def restore(self) -> Restored | None:
        """Every valid chunk of the stream's epoch, oldest first. Refused files are quarantined one by one; a file
        from another epoch (the one most files share wins, ties to the newest) or an open chunk that is not the
        newest is quarantined too, and never takes a good file with it."""
        if not self.directory.is_dir():
            return None
        for tmp in self.directory.glob("*.tmp"):  # an unfinished write was never a record: nothing to keep
            self._log.warning("engine.chunk_file_discarded", path=str(tmp), reason="unfinished write")
            tmp.unlink(missing_ok=True)
        loaded = [item for path in sorted(self.directory.glob("chunk-*.safetensors")) if (item := self._try(path))]
        kept = self._open_only_last(self._one_epoch(loaded))
        if not kept:
            return None
        tail = kept[-1].record if not kept[-1].sealed else None
        sealed = [item.record for item in kept if item.record is not tail]
        return Restored(kept[-1].epoch, sealed, tail, max(item.groups_encoded for item in kept))

    def _one_epoch(self, loaded: list[_Loaded]) -> list[_Loaded]:
        counts = Counter(item.epoch for item in loaded)
        if len(counts) <= 1:
            return loaded
        newest = {item.epoch: item.record.seq for item in loaded}  # files are in seq order: the last one wins
        epoch = max(counts, key=lambda e: (counts[e], newest[e]))
        for item in loaded:
            if item.epoch != epoch:
                self._quarantine(item.record.seq, f"stream epoch {item.epoch!r}, while {counts[epoch]} other "
                                 f"file(s) hold epoch {epoch!r}")
        return [item for item in loaded if item.epoch == epoch]

    def _open_only_last(self, loaded: list[_Loaded]) -> list[_Loaded]:
        for item in loaded[:-1]:
            if not item.sealed:
                self._quarantine(item.record.seq, "an open (unsealed) chunk with newer chunks after it")
        return [item for item in loaded[:-1] if item.sealed] + loaded[-1:]

    def _try(self, path: Path) -> _Loaded | None:
        try:
            return self._load(path)
        except RefusedFile as exc:
            quarantine(path, self.camera_id, str(exc))
        except Exception as exc:  # checksum fine, contents not what this version writes (shapes, metadata)
            quarantine(path, self.camera_id, f"unreadable contents ({type(exc).__name__}: {exc})")
        return None

    def _quarantine(self, seq: int, reason: str) -> None:
        quarantine(self.path(seq), self.camera_id, reason)

    def _load(self, path: Path) -> _Loaded:
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
        if set(tensors) != set(_TENSORS) or meta.get("sha256") != _digest(tensors, meta):
            raise RefusedFile("checksum mismatch (manifest or tensors changed): the file is corrupt")
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


def _record(meta: dict[str, str], tensors: dict[str, torch.Tensor]) -> _Loaded:
    try:
        layout = ChunkLayout(tuple(json.loads(meta["ts_lens"])), int(meta["vis_len"]))
        rec = ChunkRecord(int(meta["seq"]), float(meta["t_first"]), float(meta["t_last"]), layout, **tensors)
        epoch, groups = float(meta["epoch"]), int(meta["groups_encoded"])
    except (KeyError, ValueError, TypeError) as exc:
        raise RefusedFile(f"bad manifest: {exc}") from exc
    if rec.k.shape[2] != layout.tokens or rec.rel.shape[0] != layout.groups:
        raise RefusedFile(f"tensor shapes {tuple(rec.k.shape)} do not match the manifest's layout")
    return _Loaded(epoch, meta.get("sealed") != "0", groups, rec)


def _digest(tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> str:
    """SHA-256 of the whole record: the manifest (every field but the digest, keys sorted), then each tensor's
    name, shape, dtype and bytes."""
    h = hashlib.sha256()
    h.update(json.dumps({k: v for k, v in meta.items() if k != "sha256"}, sort_keys=True).encode())
    for name in _TENSORS:
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode() + str(t.dtype).encode())
        h.update(t.view(-1).view(torch.uint8).numpy().data)
    return h.hexdigest()
