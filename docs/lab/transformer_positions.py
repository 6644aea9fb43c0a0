"""The Transformer's positional encodings on copy: bit errors per sequence
against length, 1 to 200, for runs trained alike that differ only in
`model.positional` (the Makefile's `docs/lab/transformer-positions.png` trains them).

    python docs/lab/transformer_positions.py runs/transformer-positions --samples 100

Prints a Markdown table (a learned encoding's lengths past those it trained on
are refused, and shown as such) and draws the figure next to this script.
"""

import argparse
from pathlib import Path

from matplotlib.figure import Figure

import ntm
from ntm.evaluation import evaluate_size
from ntm.report.plots import save_figure

LENGTHS = (1, 5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200)


def measure(run: Path, samples: int) -> dict[int, float | None]:
    """Bit errors per sequence at each length; None where the model refuses the length."""
    loaded = ntm.load(run)
    figures = {}
    for length in LENGTHS:
        try:
            figures[length] = evaluate_size(loaded.model, loaded.task, {"length": length}, samples)["bit_errors"]
        except ValueError:  # a learned encoding past its trained positions
            figures[length] = None
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="the sweep directory holding copy-transformer-*-s0 runs")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("transformer-positions.png"))
    args = parser.parse_args()
    runs = sorted(path for path in args.sweep.iterdir() if (path / "config.json").is_file())
    results = {ntm.load(run).config.model.options.get("positional", "sinusoidal"): measure(run, args.samples)
               for run in runs}
    print("| positional | " + " | ".join(f"{n}" for n in LENGTHS) + " |")
    print("|---" * (len(LENGTHS) + 1) + "|")
    for name, figures in results.items():
        cells = ["refused" if v is None else f"{v:.2f}" for v in figures.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    for name, figures in results.items():
        points = [(n, v) for n, v in figures.items() if v is not None]
        ax.plot(*zip(*points), "o-", label=name, markersize=3)
    ax.axvspan(1, 20, color="0.9", label="trained lengths")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("sequence length")
    ax.set_ylabel("bit errors per sequence")
    ax.set_title("Transformer on copy, by positional encoding", loc="left")
    ax.legend(fontsize=8)
    save_figure(fig, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
