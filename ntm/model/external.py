"""Models from outside the package, under the same protocol as the built-in ones
(docs/models.md): a `torch.nn.Module` subclass named as `package.module:Name`,
an installed package's entry point in the group `ntm.models`, or a class or
factory handed over in-process (a notebook).

A name read from a file (a shared run directory's config.json) resolves only
to a built-in model, an installed entry point or an `nn.Module` subclass;
anything else is refused before it is called.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from importlib import metadata
from typing import Any, Callable

from torch import nn

from ntm.checks import did_you_mean

ENTRY_POINT_GROUP = "ntm.models"
DEFAULT_LR = 3e-4
_PROTOCOL_KEYWORDS = ("memory_size", "trace", "lengths")


class ProtocolModel(nn.Module):
    """A user's module behind the suite's call `model(inputs, memory_size=,
    trace=, lengths=)`: each keyword reaches it only if its `forward` takes it.
    A memory size asked of a model without one is an error, not ignored."""

    def __init__(self, module: nn.Module, name: str):
        super().__init__()
        self.module, self.name = module, name
        self._takes = set(inspect.signature(module.forward).parameters)

    def forward(self, inputs, memory_size=None, trace=False, lengths=None):
        keywords = {}
        if memory_size is not None:
            if "memory_size" not in self._takes:
                raise ValueError(f"a {self.name} has no memory to size")
            keywords["memory_size"] = memory_size
        if trace:
            if "trace" not in self._takes:
                raise ValueError(f"a {self.name} returns no traces to draw: its forward takes no `trace`")
            keywords["trace"] = True
        if lengths is not None and "lengths" in self._takes:
            keywords["lengths"] = lengths
        return self.module(inputs, **keywords)


def options_of(model_class: type) -> dict[str, Any]:
    """{option: default} a model class takes: the fields of its `Options`
    dataclass, or the keyword arguments of its constructor after the widths."""
    options = getattr(model_class, "Options", None)
    if dataclasses.is_dataclass(options):
        return {f.name: (f.default if f.default is not dataclasses.MISSING else None)
                for f in dataclasses.fields(options)}
    parameters = list(inspect.signature(model_class).parameters.values())[2:]  # after input_width, output_width
    return {p.name: (None if p.default is inspect.Parameter.empty else p.default) for p in parameters
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def check_option(model: str, model_class: type, key: str, value: Any) -> Any:
    """`value` for option `key` of `model_class`, as the type of its default;
    an unknown key is an error naming the options, with a did-you-mean."""
    known = options_of(model_class)
    if key not in known:
        listed = ", ".join(known) or "none"
        raise ValueError(f"model {model} has no option {key!r}; {did_you_mean(key, list(known))}"
                         f"(its options are {listed})")
    from ntm.overrides import coerce

    return value if known[key] is None else coerce(value, type(known[key]), f"model.{key}")


def builder_of(model_class: type, name: str) -> Callable:
    """(input_width, output_width, config) -> the module, its options from `config.options`."""
    options = getattr(model_class, "Options", None)

    def build(input_width: int, output_width: int, config) -> nn.Module:
        for key, value in config.options.items():
            check_option(name, model_class, key, value)
        if dataclasses.is_dataclass(options):
            module = model_class(input_width, output_width, options(**config.options))
        else:
            module = model_class(input_width, output_width, **config.options)
        return ProtocolModel(module, name)
    return build


def entry_for(name: str, obj: Any, in_process: bool = False):
    """The registry entry of `obj`: a ModelEntry as it is, an `nn.Module`
    subclass, or (only when handed over in-process) a factory function
    `(input_width, output_width) -> module`."""
    from ntm.model.registry import ModelEntry

    if isinstance(obj, ModelEntry):
        return dataclasses.replace(obj, name=name)
    if isinstance(obj, type) and issubclass(obj, nn.Module):
        takes = inspect.signature(obj.forward).parameters
        doc = (inspect.getdoc(obj) or obj.__name__).splitlines()[0]
        return ModelEntry(name, builder_of(obj, name), doc, has_memory="memory_size" in takes,
                          lr=getattr(obj, "lr", DEFAULT_LR), bidirectional=bool(getattr(obj, "bidirectional", False)),
                          model_class=obj)
    if in_process and callable(obj):
        factory = obj
        return ModelEntry(name, lambda i, o, config: ProtocolModel(factory(i, o), name),
                          getattr(obj, "__doc__", None) or name)
    raise ValueError(f"model {name!r} names {_kind(obj)}, not a model: ntm builds only a class deriving from "
                     "torch.nn.Module (or a registry entry), and refuses anything else without calling it")


def resolve_reference(reference: str):
    """The entry of `package.module:Name`, a class on the Python path."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"a model from a module is named package.module:Name, got {reference!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        needed = (error.name or module_name).split(".")[0]
        raise ValueError(f"model {reference!r} needs the package {needed}, which is not installed here "
                         f"(pip install it, or put its folder on the Python path)") from None
    obj = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"model {reference!r}: {module_name} has no {attribute}")
        obj = getattr(obj, part)
    return entry_for(reference, obj)


def installed() -> dict[str, metadata.EntryPoint]:
    """The models installed packages offer, by name."""
    return {point.name: point for point in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def resolve_installed(name: str, point: metadata.EntryPoint):
    try:
        obj = point.load()
    except ModuleNotFoundError as error:
        raise ValueError(f"model {name!r} (entry point {point.value}) needs the package "
                         f"{(error.name or '?').split('.')[0]}, which is not installed here") from None
    return entry_for(name, obj)


def _kind(obj: Any) -> str:
    if inspect.isclass(obj):
        return f"the class {obj.__qualname__}, which does not derive from torch.nn.Module"
    if callable(obj):
        return f"a {type(obj).__name__} ({getattr(obj, '__qualname__', obj)!s})"
    return f"a {type(obj).__name__}"
