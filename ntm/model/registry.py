"""The model registry: a name from the CLI to a module.

Adding a model: write the module (`inputs [B,T,in] -> logits [B,T,out]`, and
`memory_size`/`trace`/`lengths` keyword arguments) and add one line to `_BUILDERS`.
"""

from __future__ import annotations

from torch import nn

import tasks
from tasks.base import unknown_name
from ntm.model.baselines import RecurrentBaseline
from ntm.config import EXECUTION_PATHS, MODEL_NAMES, ModelConfig, RunConfig
from ntm.model.ntm import NTM

_BUILDERS = {
    "ntm": lambda i, o, c: NTM(i, o, c, feedforward=False),
    "ntm-ff": lambda i, o, c: NTM(i, o, c, feedforward=True),
    "lstm": RecurrentBaseline,
    "gru": RecurrentBaseline,
    "rnn": RecurrentBaseline,
    "bilstm": RecurrentBaseline,
}
assert set(_BUILDERS) == set(MODEL_NAMES)


def build_model(config: ModelConfig | RunConfig, input_width: int | None = None,
                output_width: int | None = None) -> nn.Module:
    """An untrained model: from a run's whole config (its task gives the
    widths), or from a ModelConfig and the task's input and output widths."""
    if isinstance(config, RunConfig):
        task = tasks.get(config.task, **config.task_options)
        config, input_width, output_width = config.model, task.input_width, task.output_width
    if input_width is None or output_width is None:
        raise ValueError("build_model(ModelConfig) needs input_width and output_width; or pass the whole RunConfig")
    if config.name not in _BUILDERS:
        raise unknown_name("model", config.name, list(_BUILDERS))
    return _BUILDERS[config.name](input_width, output_width, config)


def use_path(model: nn.Module, path: str, inference: bool = True) -> str:
    """Run an NTM on execution path `path` (see NTM.use_path); returns the path
    in use. Baselines have one path, torch's own, and report "reference"."""
    if isinstance(model, NTM):
        return model.use_path(path, inference=inference)
    if path not in EXECUTION_PATHS:
        raise ValueError(f"unknown execution path {path!r}; choose one of {', '.join(EXECUTION_PATHS)}")
    return "reference"


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
