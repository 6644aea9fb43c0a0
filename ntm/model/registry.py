"""The model registry: a name from the CLI to a module.

Adding a model: write the module (`inputs [B,T,in] -> logits [B,T,out]`, and
`memory_size`/`trace` keyword arguments) and add one line to `_BUILDERS`.
"""

from __future__ import annotations

from torch import nn

from ntm.model.baselines import RecurrentBaseline
from ntm.config import MODEL_NAMES, ModelConfig
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


def build_model(config: ModelConfig, input_width: int, output_width: int) -> nn.Module:
    if config.name not in _BUILDERS:
        raise ValueError(f"unknown model {config.name!r}; choose one of {', '.join(_BUILDERS)}")
    return _BUILDERS[config.name](input_width, output_width, config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
