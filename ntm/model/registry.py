"""The model registry: one entry per model says everything the suite knows of it.

An entry holds its builder (`inputs [B,T,in] -> logits [B,T,out]`, with
`memory_size`, `trace` and `lengths` keyword arguments), whether it has a
memory, its default learning rate, its sizes on each task, the tasks it
refuses and why, and the execution paths it offers. Adding a model is one
`ModelEntry` in `_ENTRIES` below, or `register(entry)` at run time; nothing
else in the package names a model. Models from outside the package (a
`package.module:Name` class, an installed entry point, a class or factory
from a notebook) become entries too, through `ntm.model.external`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from typing import Any, Callable

from torch import nn

import tasks
from ntm.checks import unknown_name
from ntm.config import EXECUTION_PATHS, ModelConfig, RunConfig
from ntm import recipes
from ntm.model import external
from ntm.model.baselines import RecurrentBaseline, RecurrentOptions
from ntm.model.dnc import DNC, DNCOptions
from ntm.model.ntm import NTM
from ntm.model.transformer import Transformer, TransformerOptions

# (input_width, output_width, config) -> an untrained module
Builder = Callable[[int, int, ModelConfig], nn.Module]


def no_sizes(task_name: str) -> dict:
    """ModelConfig's defaults on every task."""
    return {}


def paper_sizes(paper_model: str) -> Callable[[str], dict]:
    """The sizes the paper gives `paper_model` ("ntm", "ntm-ff" or "lstm") on
    each task it reports (ntm.paper), as ModelConfig fields; ModelConfig's
    defaults on any other task. A baseline borrows the LSTM's, so the
    comparison is like for like."""
    def sizes(task_name: str) -> dict:
        from ntm.paper import PAPER

        if task_name not in PAPER:
            return {}
        hidden, layers, *heads = PAPER[task_name].model_sizes[paper_model]
        fields = {"hidden_size": hidden, "layers": layers}
        if heads:
            fields.update(read_heads=heads[0], write_heads=heads[0])
        return fields
    return sizes


@functools.cache
def transformer_sizes(task_name: str) -> dict:
    """The Transformer's width on a task: 4 layers of 4 heads, as wide (a
    multiple of 8) as brings its parameter count closest to the paper's LSTM
    there, with rotary positions, which alone copied every training length
    without an error in the comparison on copy (checkpoints/README.md)."""
    sizes = paper_sizes("lstm")(task_name)
    if not sizes:
        return {}
    task = tasks.get(task_name)
    lstm = RecurrentBaseline(task.input_width, task.output_width, ModelConfig(name="lstm", **sizes))
    target = sum(p.numel() for p in lstm.parameters())

    def count(width: int) -> int:
        return Transformer.parameter_count(task.input_width, task.output_width, TransformerOptions(width=width, layers=4))

    width = min(range(16, 1025, 8), key=lambda w: abs(count(w) - target))
    return {"options": {"width": width, "layers": 4, "heads": 4, "positional": "rope"}}


def dnc_sizes(**options: bool) -> Callable[[str], dict]:
    """The DNC's sizes on a task: the paper's NTM's controller (hidden_size,
    layers) and its heads count as read heads beside the DNC's one write head;
    `options` are DNCOptions fields turned on."""
    def sizes(task_name: str) -> dict:
        fields = paper_sizes("ntm")(task_name)
        fields["write_heads"] = 1
        return {**fields, "options": dict(options)} if options else fields
    return sizes


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    name: str
    build: Builder
    description: str  # one line for `ntm models` and the help
    has_memory: bool = False  # an addressable memory whose size N can change at evaluation
    # Adam's rate: 3e-4 learnt steadily where Collier & Beel's 1e-3 fell back to chance (BENCHMARKS.md).
    lr: float = 3e-4
    sizes: Callable[[str], dict] = no_sizes  # task name -> ModelConfig fields (see paper_sizes)
    # task name -> the default recipe there, as `--set` assignments over TrainConfig's defaults (ntm.recipes)
    recipe: Callable[[str], dict] = recipes.no_recipe
    # Reads the whole input, both ways, before any output: unfair wherever a
    # target is a later input of the same sequence, so those tasks refuse it.
    bidirectional: bool = False
    paths: tuple[str, ...] = ("reference",)  # the execution paths it offers (EXECUTION_PATHS)
    # A model with options of its own (one from outside, the Transformer, the DNC): its class,
    # whose options `--set model.KEY=VALUE` reaches (ModelConfig.options); None for a model set
    # by ModelConfig's fields alone.
    model_class: type | None = None

    def check_option(self, key: str, value: Any) -> Any:
        """`value` as model option `key`, or an error naming the options there are."""
        if self.model_class is None:
            raise ValueError(f"model {self.name} takes no option {key!r}: its settings are ModelConfig's fields")
        return external.check_option(self.name, self.model_class, key, value)

    def refusal(self, task_name: str) -> str | None:
        """Why this model cannot be trained on `task_name`, or None."""
        if self.bidirectional and task_name in tasks.names() and tasks.get(task_name).targets_are_later_inputs:
            return (f"{self.name} cannot be trained on {task_name}: its targets are later inputs of the same "
                    "sequence, which a backward-reading model sees before predicting them; use lstm, gru or rnn there")
        return None

    def config(self, task_name: str) -> ModelConfig:
        """The model's configuration on `task_name`: its sizes there."""
        return ModelConfig(name=self.name, **copy.deepcopy(self.sizes(task_name)))  # sizes may be cached


def _ntm(feedforward: bool) -> Builder:
    return lambda i, o, config: NTM(i, o, config, feedforward=feedforward)


def _checked_options(config: ModelConfig, model_class: type) -> dict:
    """config.options, each checked against `model_class`'s options and of its default's type."""
    return {key: external.check_option(config.name, model_class, key, value) for key, value in config.options.items()}


def _dnc(input_width: int, output_width: int, config: ModelConfig) -> nn.Module:
    return DNC(input_width, output_width, config, DNCOptions(**_checked_options(config, DNC)))


def _recurrent(cell: str, bidirectional: bool = False) -> Builder:
    return lambda i, o, config: RecurrentBaseline(i, o, config, cell=cell, bidirectional=bidirectional,
                                                  options=RecurrentOptions(**_checked_options(config, RecurrentBaseline)))


_ENTRIES = [
    ModelEntry("ntm", _ntm(False), "the NTM with an LSTM controller", has_memory=True,
               sizes=paper_sizes("ntm"), recipe=recipes.ntm, paths=EXECUTION_PATHS),
    ModelEntry("ntm-ff", _ntm(True), "the NTM with a feedforward controller", has_memory=True,
               sizes=paper_sizes("ntm-ff"), recipe=recipes.ntm_ff, paths=EXECUTION_PATHS),
    ModelEntry("lstm", _recurrent("lstm"), "a stack of LSTM layers, the paper's baseline", sizes=paper_sizes("lstm"),
               recipe=recipes.lstm, model_class=RecurrentBaseline),
    ModelEntry("gru", _recurrent("gru"), "a stack of GRU layers at the LSTM's sizes", sizes=paper_sizes("lstm"),
               recipe=recipes.gru, model_class=RecurrentBaseline),
    ModelEntry("rnn", _recurrent("rnn"), "a stack of tanh RNN layers at the LSTM's sizes", sizes=paper_sizes("lstm"),
               model_class=RecurrentBaseline),
    ModelEntry("bilstm", _recurrent("lstm", bidirectional=True), "a bidirectional LSTM stack at the LSTM's sizes",
               sizes=paper_sizes("lstm"), bidirectional=True, model_class=RecurrentBaseline),
    ModelEntry("transformer", external.builder_of(Transformer, "transformer"),
               "a causal decoder-only Transformer near the LSTM's parameter count", sizes=transformer_sizes,
               recipe=recipes.transformer,
               model_class=Transformer),
    ModelEntry("dnc", _dnc, "the Differentiable Neural Computer with an LSTM controller", has_memory=True,
               sizes=dnc_sizes(), recipe=recipes.dnc, model_class=DNC, paths=("reference", "fused")),
    ModelEntry("dnc-mds", _dnc, "the DNC with masked lookup, de-allocation wipe and link sharpness (Csordás)",
               has_memory=True, sizes=dnc_sizes(masked_lookup=True, deallocation_wipe=True, link_sharpness=True),
               recipe=recipes.dnc, model_class=DNC, paths=("reference", "fused")),
]
_REGISTRY: dict[str, ModelEntry] = {entry.name: entry for entry in _ENTRIES}


def register(entry: ModelEntry) -> ModelEntry:
    """Add a model; another entry of the same name is an error."""
    if entry.name in _REGISTRY and _REGISTRY[entry.name] is not entry:
        raise ValueError(f"a model named {entry.name!r} is already registered")
    unknown = set(entry.paths) - set(EXECUTION_PATHS)
    if unknown or "reference" not in entry.paths:
        raise ValueError(f"model {entry.name!r}: paths must include reference and come from "
                         f"{', '.join(EXECUTION_PATHS)}, got {', '.join(entry.paths)}")
    _REGISTRY[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a model added with `register` (tests, notebooks)."""
    _REGISTRY.pop(name, None)


def names() -> list[str]:
    """The models `--model` takes by name: the built-in ones (NTMs first), those
    registered since, and those installed packages offer (`ntm.models` entry points)."""
    return [*_REGISTRY, *(name for name in external.installed() if name not in _REGISTRY)]


def builtin_names() -> list[str]:
    """The models the package itself defines."""
    return [entry.name for entry in _ENTRIES]


def get(name: str) -> ModelEntry:
    """The entry of a model name: built-in or registered, `package.module:Name`,
    or an installed entry point's name. Resolving never calls what it finds
    unless it is a model class (see `ntm.model.external`)."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        return register(external.resolve_reference(name))
    points = external.installed()
    if name in points:
        return register(external.resolve_installed(name, points[name]))
    raise unknown_name("model", name, names())


def name_of(model: Any) -> str:
    """The registry name of `model`: a name as it is (checked), or a class or
    factory from a notebook, registered under `module:QualName`."""
    if isinstance(model, str):
        return get(model).name
    name = f"{getattr(model, '__module__', '?')}:{getattr(model, '__qualname__', type(model).__name__)}"
    if name not in _REGISTRY:
        register(external.entry_for(name, model, in_process=True))
    return name


def build_model(config: ModelConfig | RunConfig, input_width: int | None = None,
                output_width: int | None = None) -> nn.Module:
    """An untrained model: from a run's whole config (its task gives the
    widths), or from a ModelConfig and the task's input and output widths."""
    if isinstance(config, RunConfig):
        task = tasks.get(config.task, **config.task_options)
        config, input_width, output_width = config.model, task.input_width, task.output_width
    if input_width is None or output_width is None:
        raise ValueError("build_model(ModelConfig) needs input_width and output_width; or pass the whole RunConfig")
    return get(config.name).build(input_width, output_width, config)


def use_path(model: nn.Module, path: str, inference: bool = True) -> str:
    """Run `model` on execution path `path` where it offers one (a `use_path`
    method, as NTM.use_path); returns the path in use. A model without one
    runs torch's own code and reports "reference"."""
    if path not in EXECUTION_PATHS:
        raise ValueError(f"unknown execution path {path!r}; choose one of {', '.join(EXECUTION_PATHS)}")
    if callable(getattr(model, "use_path", None)):
        return model.use_path(path, inference=inference)
    return "reference"


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
