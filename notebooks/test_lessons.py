"""Checks on the lesson files themselves, which nbval cannot make: nbval compares stored outputs, so a
notebook committed without them would pass while testing nothing (see notebooks/README.md)."""

import json
import re
from pathlib import Path

import pytest

HERE = Path(__file__).parent
LESSONS = sorted(HERE.glob("[0-9][0-9]-*.ipynb"))


def test_there_are_eight_lessons_named_nn_kebab_title():
    assert [p.name[:3] for p in LESSONS] == [f"{n:02d}-" for n in range(1, 9)]
    assert all(re.fullmatch(r"\d\d-[a-z0-9]+(-[a-z0-9]+)*\.ipynb", p.name) for p in LESSONS)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_is_committed_with_outputs_and_the_python3_kernel(path):
    notebook = json.loads(path.read_text())
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    with_output = [cell for cell in code if cell.get("outputs")]
    assert len(with_output) >= len(code) // 2, "regenerate it: see notebooks/README.md"
    errors = [out for cell in code for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, "a stored output is an error"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_opens_with_its_goal_and_ends_with_the_next_step(path):
    cells = json.loads(path.read_text())["cells"]
    first, last = "".join(cells[0]["source"]), "".join(cells[-1]["source"])
    assert cells[0]["cell_type"] == "markdown" and first.startswith(f"# {path.name[:2]} ·")
    assert "**Goal:**" in first and "**Read first:**" in first
    assert cells[-1]["cell_type"] == "markdown" and "Take-aways" in last and "**Next:**" in last


def test_readme_lists_every_lesson():
    readme = (HERE / "README.md").read_text()
    assert all(f"({p.name})" in readme for p in LESSONS)
