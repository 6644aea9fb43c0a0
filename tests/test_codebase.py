"""The codebase stays one a newcomer can read: files and functions of a size
that reads in one sitting, and project files that speak to their readers
(no labels of the working day or issue that produced a result)."""

import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES, MAX_FUNCTION_LINES, MAX_KERNEL_LINES = 450, 80, 520


def tracked(*patterns: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed.stdout.split()]


def test_no_python_module_is_over_450_lines_nor_any_function_over_80():
    too_long = []
    for path in tracked("*.py"):
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(ROOT)}: {node.name} is {length} lines")
    assert too_long == []


def test_no_kernel_source_is_over_about_500_lines():
    sources = tracked("ntm/model/csrc/*")
    assert sources
    assert [f"{p.name}: {n}" for p in sources if (n := len(p.read_text().splitlines())) > MAX_KERNEL_LINES] == []


LABELS = re.compile(r"\bissue #?\d+|\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|"
                    r"eleventh|twelfth)\s+(work(ing)?\s+)?(session|day|wave)\b|\bsession\b", re.IGNORECASE)


def test_no_project_file_labels_work_by_session_or_issue_number():
    found = []
    for path in tracked("*.md", "*.py", "*.cpp", "*.h", "Makefile", "*.toml"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if LABELS.search(line) and path.name != "test_codebase.py":
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert found == []
