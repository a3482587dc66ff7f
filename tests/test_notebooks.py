"""The chapters as stored: stripped of outputs, listed in the table of contents, and
ending with exercises (from the compression chapter on)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
TOC = (ROOT / "_toc.yml").read_text()
TOC_FILES = re.findall(r"^\s*-?\s*(?:file|root):\s*(\S+)", TOC, flags=re.M)


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 5, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [
        i for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; strip them"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_in_the_table_of_contents(path):
    assert f"book/{path.stem}" in TOC_FILES, f"{path.name} is not listed in _toc.yml"


def test_every_toc_entry_exists():
    for entry in TOC_FILES:
        candidates = [ROOT / f"{entry}{ext}" for ext in (".ipynb", ".md")]
        assert any(c.exists() for c in candidates), f"_toc.yml lists {entry}, which does not exist"


def _chapters_in_order():
    return [e for e in TOC_FILES if (ROOT / f"{e}.ipynb").exists()]


def test_chapters_from_compression_on_end_with_exercises():
    chapters = _chapters_in_order()
    assert "book/compression" in chapters
    for entry in chapters[chapters.index("book/compression"):]:
        text = (ROOT / f"{entry}.ipynb").read_text()
        n_ex = len(re.findall(r"\{exercise(?:-start)?\}", text))
        n_sol = len(re.findall(r"\{solution(?:-start)?\}", text))
        assert n_ex >= 2, f"{entry}: {n_ex} exercises, expected at least 2"
        assert n_sol >= n_ex, f"{entry}: {n_ex} exercises but only {n_sol} solutions"
