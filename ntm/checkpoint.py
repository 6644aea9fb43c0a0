"""Run directories and checkpoints.

A run directory holds:

    config.json          the full RunConfig
    last.safetensors     everything needed to resume: weights, optimiser state, RNG states, counters
    best.safetensors     the weights that scored best on the validation set
    curve.jsonl          the learning curve: step, sequences, cost_bits, bit_errors, seconds, ...;
                         a resume that changed the config adds {"step": S, "config_change": {field: [old, new]}}
    machine.txt          one line saying where the run trained (and where it was resumed)

Each checkpoint is one safetensors file: tensors under `model.` and
`optimizer.` prefixes, everything else as JSON in the file's metadata. It is
written to a temporary file and renamed over the old one, so a crash at any
moment leaves either the old or the new checkpoint, never half of one. Loading
never unpickles anything.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ntm.config import RunConfig
from ntm.platform_info import machine_description

CONFIG_FILE = "config.json"
LAST_FILE = "last.safetensors"
BEST_FILE = "best.safetensors"
CURVE_FILE = "curve.jsonl"
MACHINE_FILE = "machine.txt"
CONFIG_CHANGE = "config_change"  # the key of a curve line that records a resume's changes, not metrics
FORMAT = "ntm-checkpoint/1"  # written in every file's metadata, checked on load


class CheckpointError(ValueError):
    """A run directory or checkpoint that cannot be used; the message says why."""


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A temporary file in the same directory (so the rename is atomic), with
    the permissions a plain open() would give rather than mkstemp's 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return fd, tmp


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_config(run_dir: Path, config: RunConfig) -> None:
    atomic_write_bytes(Path(run_dir) / CONFIG_FILE, config.to_json().encode())


def load_config(run_dir: Path) -> RunConfig:
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{run_dir} is not a run directory: it has no {CONFIG_FILE}")
    try:
        return RunConfig.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path} is not a valid ntm config ({error})") from None


def save_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    info: dict[str, Any] | None = None,
    extra_tensors: dict[str, torch.Tensor] | None = None,
) -> None:
    """Write weights (and optionally optimiser state) plus JSON `info`, atomically."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "info": json.dumps(info or {})}
    if optimizer is not None:
        optimizer_tensors, optimizer_meta = _flatten_optimizer(optimizer.state_dict())
        tensors.update(optimizer_tensors)
        metadata["optimizer"] = json.dumps(optimizer_meta)
    for key, value in (extra_tensors or {}).items():
        tensors[f"extra.{key}"] = value.detach().cpu().contiguous()
    path = Path(path)
    fd, tmp = _temporary_beside(path)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Checkpoint:
    """A loaded checkpoint file: model weights, optimiser state, info."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise CheckpointError(f"checkpoint file {self.path} does not exist")
        try:
            from safetensors import safe_open

            with safe_open(str(self.path), framework="pt") as handle:
                metadata = handle.metadata() or {}
            tensors = load_file(str(self.path))
        except (SafetensorError, OSError, ValueError, RuntimeError) as error:
            raise CheckpointError(f"{self.path} is not a readable checkpoint ({error}); it may be truncated or corrupt") from None
        if metadata.get("format") != FORMAT:
            raise CheckpointError(f"{self.path} is a safetensors file but not an ntm checkpoint")
        try:
            self.info = json.loads(metadata.get("info", "{}"))
            optimizer_meta = json.loads(metadata["optimizer"]) if "optimizer" in metadata else None
        except json.JSONDecodeError:
            raise CheckpointError(f"{self.path} has corrupt metadata") from None
        self.model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        self.extra = {k[len("extra.") :]: v for k, v in tensors.items() if k.startswith("extra.")}
        self.optimizer_state = None
        if optimizer_meta is not None:
            self.optimizer_state = _unflatten_optimizer(tensors, optimizer_meta)

    def load_model(self, model: torch.nn.Module) -> None:
        try:
            model.load_state_dict(self.model_state)
        except RuntimeError as error:
            first = str(error).strip().splitlines()
            reason = first[1].strip() if len(first) > 1 else first[0]
            raise CheckpointError(
                f"{self.path} does not fit this model ({reason}); was it trained with another task or model config?"
            ) from None


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimiser state_dict into tensors and JSON-able data."""
    tensors, per_param = {}, {}
    for index, values in state["state"].items():
        plain = {}
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                plain[key] = value
        per_param[str(index)] = plain
    return tensors, {"param_groups": state["param_groups"], "plain": per_param}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for index, plain in meta.get("plain", {}).items():
        state.setdefault(int(index), {}).update(plain)
    return {"state": state, "param_groups": meta["param_groups"]}


def read_curve(run_dir: Path, config_changes: bool = False) -> list[dict]:
    """The learning curve of a run, up to any line a crash cut short ([] if none yet).

    A point of an easier curriculum stage carries that stage's index as
    "stage". Its points only, unless `config_changes`: then also the lines that record
    what a resume changed ({"step", "config_change"})."""
    path = Path(run_dir) / CURVE_FILE
    if not path.is_file():
        return []
    curve = []
    for line in path.read_text().splitlines():
        try:
            point = json.loads(line)
        except json.JSONDecodeError:
            break  # a line cut by a crash ends the usable curve
        if point.pop("warmup", False):  # written before curricula: the one warm-up stage
            point.setdefault("stage", 0)
        if config_changes or CONFIG_CHANGE not in point:
            curve.append(point)
    return curve


def init_source_dir(run_dir: Path, source: str) -> Path:
    """The run directory `init_from` names: as written (relative to where
    training ran, usually the repository root), else relative to one of the
    run's parent folders."""
    for base in (Path.cwd(), *run_dir.resolve().parents):
        candidate = base / source
        if candidate.exists():
            return candidate if candidate.is_dir() else candidate.parent
    raise CheckpointError(f"{run_dir} was started from the weights of {source} (train.init_from), "
                          "which is not there; its training budget and full learning curve need that run")


def stage_ends(curve: list[dict]) -> list[dict]:
    """The last point of each curriculum stage the run went past."""
    return [point for point, after in zip(curve, curve[1:])
            if point.get("stage") is not None and after.get("stage") != point["stage"]]


class CurveWriter:
    """Appends learning-curve lines, each flushed as soon as it is written."""

    def __init__(self, run_dir: Path):
        self.handle = open(Path(run_dir) / CURVE_FILE, "a")

    def write(self, record: dict) -> None:
        self.handle.write(json.dumps(record) + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


def holds_run(run_dir: Path) -> bool:
    return (Path(run_dir) / LAST_FILE).exists() or (Path(run_dir) / CONFIG_FILE).exists()


def prepare_run(run_dir: Path, config: RunConfig, resumed_at: int | None, changes: dict[str, list]) -> None:
    """Write a starting or resumed run's config and machine, and set its curve
    to the checkpoint it continues from (`resumed_at`; None: from scratch),
    recording the resume's `changes` of the config there."""
    run_dir = Path(run_dir)
    if resumed_at is None:
        (run_dir / CURVE_FILE).unlink(missing_ok=True)
    else:
        _truncate_curve(run_dir, resumed_at)
        if changes:
            with open(run_dir / CURVE_FILE, "a") as curve:
                curve.write(json.dumps({"step": resumed_at, CONFIG_CHANGE: changes}) + "\n")
    save_config(run_dir, config)
    _record_machine(run_dir, resumed=resumed_at is not None)


def _record_machine(run_dir: Path, resumed: bool) -> None:
    """One line saying where the run trained; a resume elsewhere is appended to it."""
    path = run_dir / MACHINE_FILE
    here = machine_description()
    previous = path.read_text().strip() if resumed and path.exists() else ""
    if previous and here in previous:
        return
    text = f"{previous}; resumed on {here}" if previous else here
    atomic_write_bytes(path, (text + "\n").encode())


def _truncate_curve(run_dir: Path, step: int) -> None:
    """Drop curve lines logged after the checkpoint we resume from."""
    if not (run_dir / CURVE_FILE).exists():
        return
    kept = [point for point in read_curve(run_dir, config_changes=True) if point.get("step", step + 1) <= step]
    atomic_write_bytes(run_dir / CURVE_FILE, "".join(json.dumps(point) + "\n" for point in kept).encode())


def resolve_weights(path: Path, which: str = "best") -> tuple[Path, Path]:
    """(run directory, checkpoint file) for a run directory or a checkpoint file.

    For a run directory, `which` picks best.safetensors (falling back to last)
    or last.safetensors.
    """
    if which not in ("best", "last"):
        raise ValueError(f"--weights must be best or last, got {which!r}")
    path = Path(path)
    if path.is_file():
        return path.parent, path
    if not path.is_dir():
        raise CheckpointError(f"{path} does not exist; give a run directory made by `ntm train` or a .safetensors file in one")
    order = [BEST_FILE, LAST_FILE] if which == "best" else [LAST_FILE]
    for name in order:
        if (path / name).is_file():
            return path, path / name
    raise CheckpointError(f"{path} holds no checkpoint ({' or '.join(order)}); has training written one yet?")
