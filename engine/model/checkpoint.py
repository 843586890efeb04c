"""Sharded safetensors in Hugging Face layout, under Video-XL-2's key names: write, index, check, read."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import structlog
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from engine.model.errors import CheckpointError
from engine.model.names import unused_reason

log = structlog.get_logger(__name__)

INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
_LISTED = 8  # keys named per problem kind in an error; the count says how many more


def write_shards(state: Mapping[str, torch.Tensor], directory: Path, max_shard_bytes: int) -> None:
    """`state` is keyed by checkpoint names; shards are filled in name order up to `max_shard_bytes` each."""
    shards = list(_pack(state, max_shard_bytes))
    weight_map: dict[str, str] = {}
    for number, keys in enumerate(shards, start=1):
        filename = f"model-{number:05d}-of-{len(shards):05d}.safetensors"
        save_file({key: state[key].detach().contiguous().cpu() for key in keys}, str(directory / filename),
                  metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(keys, filename))
    total = sum(tensor.numel() * tensor.element_size() for tensor in state.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (directory / INDEX_FILE).write_text(json.dumps(index, indent=2, sort_keys=True))


def _pack(state: Mapping[str, torch.Tensor], max_shard_bytes: int) -> Iterator[list[str]]:
    shard: list[str] = []
    size = 0
    for key in sorted(state):
        nbytes = state[key].numel() * state[key].element_size()
        if shard and size + nbytes > max_shard_bytes:
            yield shard
            shard, size = [], 0
        shard.append(key)
        size += nbytes
    if shard:
        yield shard


def shard_map(directory: Path) -> dict[str, Path]:
    """Checkpoint key -> the file that holds it, from the index or from a single model.safetensors."""
    index_path = directory / INDEX_FILE
    if index_path.is_file():
        return _read_index(index_path)
    single = directory / SINGLE_FILE
    if single.is_file():
        return dict.fromkeys(_file_keys(single), single)
    raise CheckpointError(f"{directory} holds neither {INDEX_FILE} nor {SINGLE_FILE}: not a safetensors checkpoint")


def _read_index(index_path: Path) -> dict[str, Path]:
    try:
        weight_map = json.loads(index_path.read_text())["weight_map"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{index_path} is not a readable safetensors index (needs 'weight_map'): {exc}") from exc
    files = {name: index_path.parent / name for name in set(weight_map.values())}
    absent = sorted(name for name, path in files.items() if not path.is_file())
    if absent:
        raise CheckpointError(f"{index_path} names shard(s) that do not exist: {absent}")
    return {key: files[name] for key, name in weight_map.items()}


def _file_keys(path: Path) -> list[str]:
    with _open(path, "cpu") as handle:
        return list(handle.keys())


def _open(path: Path, device: str) -> safe_open:
    try:
        return safe_open(str(path), framework="pt", device=device)
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"cannot read weights file {path}: {exc}; the file is truncated or not safetensors") \
            from exc


def check_keys(files: Mapping[str, Path], expected: Mapping[str, tuple[int, ...]], vision_layers: int,
               directory: Path) -> list[str]:
    """The checkpoint keys to load; raises one error naming every missing, unexpected and mis-shaped key."""
    shapes = _shapes(files)
    ignored = {key: reason for key in shapes if key not in expected
               if (reason := unused_reason(key, vision_layers)) is not None}
    if ignored:
        log.info("checkpoint_keys_ignored", directory=str(directory), count=len(ignored), keys=sorted(ignored),
                 reasons=sorted(set(ignored.values())))
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected) - set(ignored))
    misshaped = sorted(f"{key} (checkpoint {list(shapes[key])}, model expects {list(expected[key])})"
                       for key in set(shapes) & set(expected) if shapes[key] != expected[key])
    if missing or unexpected or misshaped:
        raise CheckpointError(_mismatch_message(directory, missing, unexpected, misshaped))
    return sorted(expected)


def _shapes(files: Mapping[str, Path]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for path in sorted(set(files.values())):
        with _open(path, "cpu") as handle:
            for key in handle.keys():  # noqa: SIM118 - safe_open handles are not mappings
                if files.get(key) == path:
                    shapes[key] = tuple(handle.get_slice(key).get_shape())
    listed_only = sorted(set(files) - set(shapes))
    if listed_only:
        raise CheckpointError(f"the index lists key(s) absent from their shard: {listed_only[:_LISTED]}")
    return shapes


def _mismatch_message(directory: Path, missing: list[str], unexpected: list[str], misshaped: list[str]) -> str:
    parts = [_listing("missing", missing), _listing("unexpected", unexpected), _listing("mis-shaped", misshaped)]
    found = "; ".join(part for part in parts if part)
    return (f"checkpoint {directory} does not fit the model built from its config.json: {found}. "
            "Check that config.json describes these weights and that no shard was left out")


def _listing(kind: str, keys: list[str]) -> str:
    if not keys:
        return ""
    more = f" and {len(keys) - _LISTED} more" if len(keys) > _LISTED else ""
    return f"{len(keys)} {kind} key(s): {', '.join(keys[:_LISTED])}{more}"


def read_tensors(files: Mapping[str, Path], keys: list[str], device: torch.device,
                 dtype: torch.dtype) -> Iterator[tuple[str, torch.Tensor]]:
    """(key, tensor) on `device` in `dtype`, one shard open at a time."""
    wanted = set(keys)
    for path in sorted(set(files.values())):
        with _open(path, str(device)) as handle:
            for key in handle.keys():  # noqa: SIM118
                if key in wanted and files[key] == path:
                    # A fresh, aligned allocation: views into the file buffer are unaligned, and BLAS then
                    # rounds differently from the model that was saved.
                    yield key, _read(handle, key, path).to(dtype=dtype, copy=True)


def _read(handle: safe_open, key: str, path: Path) -> torch.Tensor:
    try:
        get_tensor: Callable[[str], torch.Tensor] = handle.get_tensor
        tensor = get_tensor(key)
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise CheckpointError(f"cannot read tensor {key} from {path}: {exc}") from exc
    return tensor
