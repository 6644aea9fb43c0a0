"""Neural Turing Machines and recurrent baselines on the tasks of Graves et al. (2014).

The Python API, for notebooks and scripts (the `ntm` command wraps the same functions):

- `ntm.default_config(task, model)`: the paper's configuration of a run, a `RunConfig` to change;
- `ntm.train(config, run_dir)`: what `ntm train` does;
- `ntm.load(run_dir)`: the trained model, its config and task;
- `ntm.evaluate(run_or_model, sizes)`: figures per size, what `ntm eval` prints;
- `ntm.build_model(config)`: an untrained model (`ntm.model.registry` lists the models);
- `tasks.get(name).sample(batch_size)`: a batch of a task (in the `tasks` package).

They are imported on first use, so `import ntm` stays quick.
"""

from importlib import import_module

__version__ = "0.1.0"  # the one place the version is written; pyproject.toml reads it from here

# name -> module that defines it
_API = {
    "default_config": "ntm.config",
    "train": "ntm.training.loop",
    "load": "ntm.api",
    "evaluate": "ntm.api",
    "build_model": "ntm.model.registry",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'ntm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
