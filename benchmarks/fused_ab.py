"""Two or more builds of the fused extension in one process, alternated: the
least noisy A/B of a kernel change on a shared machine. Each round times every
build on the same inputs for a fixed CPU time (one thread) and rotates which
goes first; the table gives each build's median and, against the first, the
median of the per-round ratios, so a neighbour's load that comes and goes
affects both sides of each ratio alike.

Build each tree's extension into its own folder and pass the .so files:

    NTM_EXTENSIONS_DIR=/tmp/ext-old PYTHONPATH=OLD python -c \\
        "from ntm.model import fused; print(fused.load().__file__)"
    (the same for NEW, into /tmp/ext-new)
    PYTHONPATH=NEW python benchmarks/fused_ab.py OLD.so NEW.so --labels old,new --rounds 12

The cases: copy evaluation at length 100 (batch 100, forward only), copy
training at batch 32 and the priority-sort NTM and NTM-FF at batch 32
(forward and backward of the extension alone, no autograd, no optimiser).
The builds must take the parameters in the same order (csrc/weights.h).
"""

import argparse
import importlib.machinery
import importlib.util
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import tasks
from ntm.config import default_config
from ntm.model.heap import keep_freed_memory
from ntm.model import fused
from ntm.model.registry import build_model


def load_build(path: str):
    """An extension module from its .so file, under its own name."""
    name = Path(path).name.split(".")[0]
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def case(task_name: str, model_name: str, batch_size: int, length: int | None = None):
    """The arguments of the extension's forward for one model and batch."""
    config, task = default_config(task_name, model_name), tasks.get(task_name)
    torch.manual_seed(0)
    model = build_model(config.model, task.input_width, task.output_width)
    rng = np.random.default_rng(0)
    batch = task.sample(batch_size, rng, length=length) if length else task.sample(batch_size, rng)
    cfg, memory = model.config, model.initial_memory()
    meta = (fused.controller_is_lstm(model), cfg.layers, cfg.read_heads, cfg.write_heads, memory.shape[0],
            cfg.memory_width, float(cfg.clip))
    return batch.inputs, batch.lengths, fused.kernel_parameters(model), meta, memory


def evaluate(extension, inputs, lengths, params, meta, memory):
    extension.forward(inputs, lengths, params, *meta, memory, False)


def train(extension, inputs, lengths, params, meta, memory):
    logits, *saved = extension.forward(inputs, lengths, params, *meta, memory, True)
    extension.backward(torch.ones_like(logits), inputs, lengths, params, saved, *meta, memory, False)


CASES = {  # name: (arguments, work, sequences per call)
    "copy eval length 100, batch 100": (lambda: case("copy", "ntm", 100, 100), evaluate, 100),
    "copy train batch 32": (lambda: case("copy", "ntm", 32), train, 32),
    "priority sort NTM train batch 32": (lambda: case("priority-sort", "ntm", 32), train, 32),
    "priority sort NTM-FF train batch 32": (lambda: case("priority-sort", "ntm-ff", 32), train, 32),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("builds", nargs="+", help=".so files of the builds; the first is the baseline")
    parser.add_argument("--labels", help="comma-separated names of the builds (default: their file names)")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=0.7, help="CPU seconds per build, case and round")
    args = parser.parse_args()
    # As training runs them: loaded .so files bypass fused.load(), which keeps freed memory; without it
    # each call's page faults, which vary from round to round, would be timed instead of the kernels.
    keep_freed_memory()
    labels = args.labels.split(",") if args.labels else [Path(b).name for b in args.builds]
    builds = dict(zip(labels, (load_build(b) for b in args.builds)))
    torch.set_num_threads(1)
    rates = {name: {label: [] for label in labels} for name in CASES}
    with torch.no_grad():
        cases = {name: (make(), work, n) for name, (make, work, n) in CASES.items()}
        for arguments, work, _ in cases.values():  # warm-up
            for extension in builds.values():
                work(extension, *arguments)
        for r in range(args.rounds):
            order = labels[r % len(labels):] + labels[: r % len(labels)]
            for name, (arguments, work, n) in cases.items():
                for label in order:
                    calls, started = 0, time.process_time()
                    while time.process_time() - started < args.seconds:
                        work(builds[label], *arguments)
                        calls += 1
                    rates[name][label].append(n * calls / (time.process_time() - started))
    base = labels[0]
    print(f"{args.rounds} rounds of {args.seconds} CPU seconds, one thread, torch {torch.__version__}; "
          "sequences per CPU second (medians), and each build's median ratio to the first, round by round")
    print("| case | " + " | ".join(labels) + " | " + " | ".join(f"{label}/{base}" for label in labels[1:]) + " |")
    print("|---|" + "---:|" * (2 * len(labels) - 1))
    for name, by_label in rates.items():
        medians = [f"{statistics.median(by_label[label]):.0f}" for label in labels]
        ratios = [f"{statistics.median(a / b for a, b in zip(by_label[label], by_label[base])):.3f}"
                  for label in labels[1:]]
        print(f"| {name} | " + " | ".join(medians + ratios) + " |")


if __name__ == "__main__":
    main()
