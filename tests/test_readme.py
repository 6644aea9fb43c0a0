"""The README's examples match the code: its Python example runs as written,
every `ntm` command line it shows names options that exist, and no file
points at documents outside the repository."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

import ntm
from ntm.cli import app

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
API_MARKER = "<!-- api-example: run as it stands by tests/test_readme.py -->"


def _api_example() -> str:
    after = README.split(API_MARKER, 1)[1]
    match = re.match(r"\s*```python\n(.*?)```", after, re.S)
    assert match, "the API example must be the ```python block right after its marker"
    return match.group(1)


def _tiny_default_config(task, model="ntm"):
    """The README's run, shrunk so the example takes seconds: the same code
    path with a small NTM on short sequences."""
    config = ntm.config.default_config(task, model)
    config.task_options = {"max_length": 3}
    config.model.hidden_size, config.model.memory_size, config.model.memory_width = 8, 48, 4
    config.train.batch_size, config.train.validation_samples = 4, 8
    return config


def test_the_readme_python_example_runs_as_written(tmp_path, monkeypatch, capsys):
    import ntm.config

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ntm, "default_config", _tiny_default_config, raising=False)
    exec(compile(_api_example(), "README.md", "exec"), {"__name__": "readme"})
    assert (tmp_path / "runs" / "notebook-copy" / "best.safetensors").is_file()
    assert (tmp_path / "copy-attention.png").stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "'length': 10" in printed and "'length': 40" in printed and "bit_errors" in printed


def test_import_ntm_loads_nothing_heavy():
    code = "import sys, ntm; print(sorted(m for m in ('torch', 'matplotlib', 'typer') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                            env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _readme_command_lines():
    """Each `ntm ...` line of the README's bash blocks, continuation lines joined."""
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        logical = []
        for line in block.splitlines():
            line = line.split(" #", 1)[0].rstrip()
            if logical and (line.startswith(" ") or logical[-1].endswith("\\")):
                logical[-1] = logical[-1].rstrip("\\") + " " + line.strip()
            else:
                logical.append(line.strip())
        for line in logical:
            words = line.split()
            if "ntm" in words[:1] or "-m" in words and words[words.index("-m") + 1] == "ntm":
                yield words[words.index("ntm") + 1:] if words[0] == "ntm" else words[words.index("-m") + 2:]


def test_every_readme_command_line_uses_options_that_exist():
    root = typer.main.get_command(app)
    lines = list(_readme_command_lines())
    assert len(lines) >= 8
    for words in lines:
        command, rest = root, list(words)
        while rest and hasattr(command, "commands") and rest[0] in command.commands:
            command = command.commands[rest.pop(0)]
        assert command is not root, f"`ntm {' '.join(words)}` names no command"
        known = {opt for param in command.params for opt in param.opts}
        for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", " ".join(rest)):
            assert option in known, f"`ntm {' '.join(words)}`: {option} is not an option of that command"


def test_the_training_synopsis_lists_every_model():
    from ntm.model.registry import builtin_names

    assert f"[--model {'|'.join(builtin_names())}]" in README


def test_the_readme_shows_the_new_options():
    for text in ("ntm --version", "--install-completion", "--scale symlog", "did you", API_MARKER):
        assert text in README, text


@pytest.mark.parametrize("pattern", [r"SPEC\.md", r"\.\./shared", r"\bSPEC\b"])
def test_no_file_points_outside_the_repository(pattern):
    files = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=REPO).stdout.split()
    offenders = []
    for name in files:
        frozen_with_the_models = name.startswith("checkpoints/") and not name.endswith(".md")
        if frozen_with_the_models or name == "tests/test_readme.py":
            continue
        path = REPO / name
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue  # images, weights
        if re.search(pattern, text):
            offenders.append(name)
    assert offenders == [], f"these refer to {pattern}; point them at docs/tasks.md"


def test_docs_tasks_describes_every_task_and_measure():
    doc = (REPO / "docs" / "tasks.md").read_text()
    import tasks

    flat = " ".join(doc.split())
    for name in tasks.names():
        task = tasks.get(name)
        section = flat.split(f"(`tasks/{name.replace('-', '_')}.py`)", 1)[1].split("**", 1)[0]
        assert f"Input width {task.input_width}:" in section and f"Output width {task.output_width}:" in section, name
    for measure in ("cost_bits", "bit_errors", "seq_accuracy", "optimal", "Batch", "mask"):
        assert measure in doc
