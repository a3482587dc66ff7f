"""No stale outputs (book/_ext/fresh_outputs.py), shown on a small copy of the book.

The copy has the real _config.yml, book/_ext, book/matplotlibrc and nmf_lib, and a
table of contents with one chapter that imports the copy's nmf_lib and counts its own
executions. Built with `jupyter-book build` as `make book` does:

* built twice without a change, the chapter is executed once (the second build takes
  it from the cache);
* after a change to a file of nmf_lib it is executed again and shows the new value;
* a chapter whose execution fails fails the next build too, not only the first one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from fresh_outputs import inputs_digest  # noqa: E402

JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")

PROBE = """\
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path.cwd().parent))  # the copy's nmf_lib, not the installed one
import nmf_lib

with open("../executions.log", "a") as log:
    print("executed", file=log)
print("nmf_lib from", pathlib.Path(nmf_lib.__file__).parent.parent.name)
print("centres:", nmf_lib.CENTRES)
"""


def _copy_book(root: Path) -> None:
    for item in ["_config.yml", "nmf_lib", "book/_ext", "book/_static", "book/matplotlibrc",
                 "book/references.bib"]:
        src, dst = ROOT / item, root / item
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\nchapters:\n  - file: book/probe\n")
    (root / "book" / "index.md").write_text("# A copy of the book\n\nWith one chapter.\n")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Probe\n\nCounts its executions."),
                nbformat.v4.new_code_cell(PROBE)]
    nbformat.write(nb, root / "book" / "probe.ipynb")


def _build(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(JUPYTER_BOOK), "build", str(root), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=600)


def _executions(root: Path) -> int:
    log = root / "executions.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def _page(root: Path) -> str:
    return (root / "_build" / "html" / "book" / "probe.html").read_text()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    if not JUPYTER_BOOK.exists():
        pytest.skip(f"jupyter-book is not installed beside {sys.executable} (pip install -e '.[book]')")
    root = tmp_path_factory.mktemp("book")
    _copy_book(root)
    return root


def test_the_cache_is_used_until_the_library_changes(book):
    first = _build(book)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert _executions(book) == 1
    assert "nmf_lib from " + book.name in _page(book)  # the copy's library ran
    assert "centres: (0.15, 0.25, 0.6, 0.9)" in _page(book)

    again = _build(book)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert _executions(book) == 1, "nothing changed, yet the chapter was executed again"
    assert "not in the execution cache" not in again.stdout  # and Sphinx did not re-read it

    _edit(book / "nmf_lib" / "data.py", "CENTRES = (0.15,", "CENTRES = (0.125,")
    changed = _build(book)
    assert changed.returncode == 0, changed.stdout[-3000:] + changed.stderr[-3000:]
    assert _executions(book) == 2, "nmf_lib changed, yet the chapter came from the cache"
    assert "centres: (0.125, 0.25, 0.6, 0.9)" in _page(book)
    assert "inputs changed (nmf_lib/data.py)" in changed.stdout


def test_a_failing_chapter_fails_every_build_until_it_is_fixed(book):
    _edit(book / "nmf_lib" / "data.py", "CENTRES = (", "1 / 0\nCENTRES = (")
    for attempt in range(2):
        broken = _build(book)
        assert broken.returncode != 0, f"build {attempt + 1} with a failing chapter succeeded"
        assert "ZeroDivisionError" in broken.stdout + broken.stderr
        report = book / "_build" / "html" / "reports" / "book" / "probe.err.log"
        assert report.is_file(), "no execution report of the failed chapter"
    assert "not in the execution cache, read again: book/probe" in broken.stdout


def test_the_digest_follows_the_inputs_and_nothing_else(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "a.py").write_text("A = 1\n")
    (tmp_path / "matplotlibrc").write_text("figure.facecolor: white\n")
    inputs, packages = ["lib", "matplotlibrc"], ["numpy"]
    digest, described = inputs_digest(tmp_path, inputs, packages)
    assert set(described["files"]) == {"lib/a.py", "matplotlibrc"}
    assert described["packages"]["numpy"]

    (tmp_path / "lib" / "__pycache__").mkdir()
    (tmp_path / "lib" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"compiled")
    assert inputs_digest(tmp_path, inputs, packages)[0] == digest  # bytecode is not an input

    (tmp_path / "matplotlibrc").write_text("figure.facecolor: black\n")
    after_rc = inputs_digest(tmp_path, inputs, packages)[0]
    (tmp_path / "lib" / "b.py").write_text("")
    after_new_file = inputs_digest(tmp_path, inputs, packages)[0]
    assert len({digest, after_rc, after_new_file}) == 3
    assert inputs_digest(tmp_path, inputs, ["numpy", "not-a-package"])[0] != after_new_file
    with pytest.raises(FileNotFoundError, match="missing"):
        inputs_digest(tmp_path, ["missing"], packages)


def test_the_book_declares_its_inputs():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx = config["sphinx"]
    assert "fresh_outputs" in sphinx["local_extensions"]
    assert {"nmf_lib", "book/matplotlibrc"} <= set(sphinx["config"]["execution_inputs"])
    assert "numpy" in sphinx["config"]["execution_packages"]
