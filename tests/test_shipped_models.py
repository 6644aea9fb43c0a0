"""checkpoints/MODELS, the folders and the Makefile agree: every shipped run
is there and is reproduced by a recipe with its own seed and budget."""

import re
from pathlib import Path

import pytest

import ntm
from ntm import checkpoint as ckpt
from ntm.config import default_config
from ntm.report.collect import SEED_RECORD, SEEDS_DIR, recorded_result, training_budget
from ntm.report.targets import headline

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = (ROOT / "checkpoints" / "MODELS").read_text().split()


def makefile_recipes() -> dict[str, str]:
    """{target: recipe text} for the checkpoints/ rules, with the Makefile's
    variables and macros expanded (a pattern rule's $* is left to the caller)."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    variables = dict(re.findall(r"^(\w+) :?= (.*)$", text, flags=re.M))
    recipes, target = {}, None
    for line in text.splitlines():
        rule = re.match(r"^(checkpoints/[\w/%-]+):(?:\s+\|?\s*checkpoints/[\w/%-]+)*\s*$", line)  # prerequisites: runs
        if rule:
            target = rule.group(1)
            recipes[target] = ""
        elif target and line.startswith("\t"):
            recipes[target] += line.strip() + "\n"
        else:
            target = None

    def expand(recipe: str) -> str:
        recipe = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), recipe)
        # $(call MACRO,FIRST,...): the macro's text with $(1) set to FIRST
        return re.sub(r"\$\(call (\w+),([^,)]*)[^)]*\)",
                      lambda m: variables[m.group(1)].replace("$(1)", m.group(2)), recipe)

    return {name: expand(expand(recipe)) for name, recipe in recipes.items()}


def recipe_for(name: str, recipes: dict[str, str]) -> str:
    target = f"checkpoints/{name}"
    if target in recipes:
        return recipes[target]
    for pattern, recipe in recipes.items():
        if "%" in pattern:
            prefix, suffix = pattern.split("%")
            stem = target[len(prefix):len(target) - len(suffix)] if target.startswith(prefix) and target.endswith(suffix) else None
            if stem and stem.isdigit():
                return recipe.replace("$*", stem)
    raise AssertionError(f"no Makefile rule makes {target}")


def test_models_lists_each_run_once():
    assert len(SHIPPED) == len(set(SHIPPED))


@pytest.mark.parametrize("name", SHIPPED)
def test_each_listed_run_ships_its_config_best_weights_and_curve(name):
    run = ROOT / "checkpoints" / name
    # a seed that is not shipped may keep its evaluation in place of its weights
    recorded = name.startswith(SEEDS_DIR + "/") and not (run / ckpt.BEST_FILE).is_file()
    for file in (ckpt.CONFIG_FILE, SEED_RECORD if recorded else ckpt.BEST_FILE, ckpt.CURVE_FILE):
        assert (run / file).is_file(), f"{run} lacks {file}"
    if recorded:  # measured as RESULTS.md measures the shipped runs
        size, _ = headline(ckpt.load_config(run).task)
        recorded_result(run, size, {"samples": 500, "seed": 0})


@pytest.mark.parametrize("name", SHIPPED)
def test_each_listed_run_has_a_recipe_with_its_seed_and_steps(name):
    recipe = recipe_for(name, makefile_recipes())
    config = ckpt.load_config(ROOT / "checkpoints" / name)
    seed = re.search(r"--seed (\d+)", recipe)
    assert seed and int(seed.group(1)) == config.train.seed, f"{name}: recipe {recipe!r}, config seed {config.train.seed}"
    model = re.search(r"--model ([\w-]+)", recipe)
    assert model is None or model.group(1) == config.model.name, f"{name}: recipe {recipe!r}, config {config.model.name}"
    steps = [int(s) for s in re.findall(r"--steps (\d+)", recipe)]
    if not steps:  # the default command: its recipe's steps (ntm/recipes.py)
        task = re.search(r"ntm train ([\w-]+)", recipe).group(1)
        steps = [default_config(task, config.model.name).train.steps]
    assert steps[-1] == config.train.steps, f"{name}: recipe steps {steps}, config {config.train.steps}"
    curve = ckpt.read_curve(ROOT / "checkpoints" / name)
    budget = training_budget(curve)
    consolidated, solved = budget["consolidated_at"], budget["solved_at"]
    last = curve[-1]["step"]
    if config.train.stop_when_solved and solved:  # stopped at the solve
        assert last == solved["step"], f"{name}: the curve ends at step {last}, solved at {solved}"
    elif config.train.stop_when_consolidated and consolidated:  # stopped there, before its budget
        assert last == consolidated["step"], f"{name}: the curve ends at step {last}, consolidated at {consolidated}"
    else:
        assert last == config.train.steps, f"{name}: the curve ends at step {last}, the config says {config.train.steps}"


def test_every_finished_run_in_checkpoints_is_listed():
    # checkpoints/in-progress/ holds runs to resume, not results.
    runs = [config.parent.relative_to(ROOT / "checkpoints")
            for config in (ROOT / "checkpoints").glob("**/" + ckpt.CONFIG_FILE)]
    unlisted = sorted(str(run) for run in runs if run.parts[0] != "in-progress" and str(run) not in SHIPPED)
    assert not unlisted, f"not in checkpoints/MODELS: {unlisted}"


def test_the_checkpoints_stay_within_the_repository_limits():
    # The project keeps every file under 25 MB and checkpoints/ under 150 MB, so a clone stays small.
    files = [path for path in (ROOT / "checkpoints").rglob("*") if path.is_file()]
    too_large = [str(path.relative_to(ROOT)) for path in files if path.stat().st_size > 25e6]
    assert not too_large, f"over 25 MB: {too_large}"
    total = sum(path.stat().st_size for path in files)
    assert total < 150e6, f"checkpoints/ holds {total / 1e6:.0f} MB, over 150 MB"


# Shipped models that solve their trained size, evaluated again on a small
# fixed set (100 sequences, seed 0: a few seconds) with the bound they must
# keep. RESULTS.md has each one's figures over 500 sequences.
STILL_SOLVED = [
    # 0.800 bit errors: one of these 100 length-20 sequences fails in every
    # bit (one in 500 of RESULTS.md's set; checkpoints/README.md, "Default
    # recipes"), so a looser bound than "solved".
    ("copy-ntm", {"length": 20}, 1.0),
    ("copy-ntm-ff", {"length": 20}, 0.1),  # 0.000 bit errors
    ("repeat-copy-ntm", {"length": 10, "repeats": 10}, 0.1),  # 0.090 (500 sequences)
    ("associative-recall-ntm-ff", {"items": 6}, 0.1),  # 0.028
    ("copy-dnc", {"length": 100}, 1.0),  # 0.002: past the training lengths, with its memory of 256
    ("associative-recall-dnc", {"items": 6}, 0.1),  # 0.036
]


@pytest.mark.parametrize("name, size, bit_errors", STILL_SOLVED, ids=[entry[0] for entry in STILL_SOLVED])
def test_shipped_models_still_solve_their_trained_size(name, size, bit_errors):
    run = ROOT / "checkpoints" / name
    assert name in SHIPPED
    [result] = ntm.evaluate(run, sizes=[size], samples=100, seed=0)
    assert result["bit_errors"] < bit_errors, f"{name} at {size}: {result}"
    assert result["seq_accuracy"] >= 0.95, f"{name} at {size}: {result}"
