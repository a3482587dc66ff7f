"""The chapters as stored: stripped of outputs, listed in the table of contents, and
written to one template (CONTRIBUTING.md describes it):

* the first cell: `# Title`, an introduction, then the line "In this chapter you will
  learn" followed by a bullet list;
* the first code cell: the setup cell, the same in every chapter and hidden from the
  page; when nmf_lib cannot be imported it says what to install (or installs it on Colab);
* `import nmf_lib`, never an alias, and no private name of the library;
* no matplotlib settings in chapters (book/matplotlibrc sets them);
* a cell made mostly of `assert` and `glue(...)` is removed from the page (`remove-cell`);
* the library's source is shown with {literalinclude}, never printed by a cell;
* from the compression chapter on, exercises at the end, each with a folded solution.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
TOC = (ROOT / "_toc.yml").read_text()
TOC_FILES = re.findall(r"^\s*-?\s*(?:file|root):\s*(\S+)", TOC, flags=re.M)
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
INSTALL = f'pip install "nmf-lib[book] @ git+{REPOSITORY}"'

OBJECTIVES = "In this chapter you will learn"
SETUP_TAGS = {"remove-cell"}
HIDDEN = "remove-cell"


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def source(cell: dict) -> str:
    return "".join(cell["source"])


def tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def code_cells(nb: dict) -> list[dict]:
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


def parse(cell: dict) -> ast.Module:
    # IPython magics (%...) and shell lines (!...) are not Python
    lines = ["" if line.lstrip().startswith(("%", "!")) else line
             for line in source(cell).splitlines()]
    return ast.parse("\n".join(lines))


def setup_source() -> str:
    """The setup cell as the first chapter of the table of contents has it."""
    first = next(ROOT / f"{e}.ipynb" for e in TOC_FILES if (ROOT / f"{e}.ipynb").exists())
    return source(code_cells(load(first))[0])


chapter = pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 5, NOTEBOOKS


@chapter
def test_notebook_is_stored_without_outputs(path):
    nb = load(path)
    dirty = [
        i for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; strip them"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"


@chapter
def test_notebook_is_in_the_table_of_contents(path):
    assert f"book/{path.stem}" in TOC_FILES, f"{path.name} is not listed in _toc.yml"


def test_every_toc_entry_exists():
    for entry in TOC_FILES:
        candidates = [ROOT / f"{entry}{ext}" for ext in (".ipynb", ".md")]
        assert any(c.exists() for c in candidates), f"_toc.yml lists {entry}, which does not exist"


def _chapters_in_order():
    return [e for e in TOC_FILES if (ROOT / f"{e}.ipynb").exists()]


# ---------------------------------------------------------------- the chapter template

@chapter
def test_chapter_opens_with_title_introduction_and_objectives(path):
    first = load(path)["cells"][0]
    assert first["cell_type"] == "markdown", f"{path.name}: the first cell is not Markdown"
    lines = source(first).splitlines()
    assert re.match(r"# \S", lines[0]), f"{path.name}: the first line is not a `# Title`"
    assert not [line for line in lines[1:] if line.startswith("# ")], (
        f"{path.name}: a second `# ` title in the first cell")
    styles = [i for i, line in enumerate(lines) if "in this chapter you will learn" in line.lower()]
    assert styles, f"{path.name}: the first cell has no line {OBJECTIVES!r}"
    at = styles[0]
    assert lines[at].strip() == OBJECTIVES, (
        f"{path.name}: write the objectives line as plain {OBJECTIVES!r}, not {lines[at]!r}")
    assert any(line.strip() for line in lines[1:at]), (
        f"{path.name}: no introduction between the title and the objectives")
    after = [line for line in lines[at + 1:] if line.strip()]
    assert after and after[0].startswith("* "), (
        f"{path.name}: {OBJECTIVES!r} is not followed by a bullet list (`* ...`)")


@chapter
def test_the_first_code_cell_is_the_setup_cell(path):
    first = code_cells(load(path))[0]
    assert source(first) == setup_source(), (
        f"{path.name}: the first code cell must be the setup cell, the same in every chapter "
        "(copy it from book/introduction.ipynb)")
    assert SETUP_TAGS <= tags(first), f"{path.name}: tag the setup cell {sorted(SETUP_TAGS)}"


def _imports(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name, alias.asname
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                yield node, f"{node.module}.{alias.name}", alias.asname


def _private(dotted: str) -> bool:
    return any(part.startswith("_") and not part.endswith("__") for part in dotted.split("."))


def _attribute_chains(tree: ast.Module):
    """Dotted names such as nmf_lib.metrics._pearson used in the code."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                parts.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name):
                yield ".".join([inner.id, *reversed(parts)])


@chapter
def test_chapter_imports_nmf_lib_by_its_name_and_no_private_names(path):
    problems, plain = [], False
    for i, cell in enumerate(code_cells(load(path))):
        tree = parse(cell)
        for node, name, asname in _imports(tree):
            if not (name == "nmf_lib" or name.startswith("nmf_lib.")):
                continue
            plain |= name == "nmf_lib" and asname is None and isinstance(node, ast.Import)
            if asname is not None:
                problems.append(f"code cell {i}: `{name}` imported as `{asname}`: use `import nmf_lib`")
            if _private(name):
                problems.append(f"code cell {i}: imports the private `{name}`")
        for dotted in _attribute_chains(tree):
            if dotted.startswith("nmf_lib.") and _private(dotted):
                problems.append(f"code cell {i}: uses the private `{dotted}`")
    assert plain, f"{path.name}: no `import nmf_lib`"
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


MATPLOTLIB_SETTINGS = re.compile(r"rcParams|\brc\(|rc_file|style\.use")


@chapter
def test_chapter_leaves_matplotlib_settings_to_matplotlibrc(path):
    offenders = [i for i, cell in enumerate(code_cells(load(path)))
                 if MATPLOTLIB_SETTINGS.search(source(cell))]
    assert not offenders, (
        f"{path.name}: code cells {offenders} change matplotlib's settings; "
        "put what the book needs in book/matplotlibrc")


def _checks(statement: ast.stmt) -> bool:
    """An assert, a glue(...) call, or a loop made only of them."""
    if isinstance(statement, ast.Assert):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        return getattr(statement.value.func, "id", None) == "glue"
    if isinstance(statement, ast.For):
        return all(_checks(inner) for inner in statement.body)
    return False


def assert_and_glue_cells(nb: dict) -> list[int]:
    """Code cells (by index) whose statements are mostly asserts and glue calls."""
    found = []
    for i, cell in enumerate(code_cells(nb)):
        body = parse(cell).body
        if body and sum(map(_checks, body)) > len(body) / 2:
            found.append(i)
    return found


@chapter
def test_assert_and_glue_cells_are_removed_from_the_page(path):
    nb = load(path)
    cells = code_cells(nb)
    shown = [i for i in assert_and_glue_cells(nb) if HIDDEN not in tags(cells[i])]
    assert not shown, (
        f"{path.name}: code cells {shown} are mostly asserts and glue calls; tag them {HIDDEN!r}")


@chapter
def test_library_source_is_shown_with_literalinclude_only(path):
    problems = []
    for i, cell in enumerate(code_cells(load(path))):
        text = source(cell)
        if re.search(r"\bCode\(", text):
            problems.append(f"code cell {i} displays code with IPython's Code()")
        if "getsource" in text and HIDDEN not in tags(cell):
            problems.append(f"code cell {i} shows source from inspect.getsource")
    assert not problems, (
        f"{path.name}: show the library's code with {{literalinclude}}:\n  " + "\n  ".join(problems))


def test_chapters_from_compression_on_end_with_exercises():
    chapters = _chapters_in_order()
    assert "book/compression" in chapters
    for entry in chapters[chapters.index("book/compression"):]:
        nb = load(ROOT / f"{entry}.ipynb")
        text = "\n".join(source(cell) for cell in nb["cells"])
        n_ex = len(re.findall(r"\{exercise(?:-start)?\}", text))
        n_sol = len(re.findall(r"\{solution(?:-start)?\}", text))
        assert n_ex >= 2, f"{entry}: {n_ex} exercises, expected at least 2"
        assert n_sol >= n_ex, f"{entry}: {n_ex} exercises but only {n_sol} solutions"
        sections = [m.start() for m in re.finditer(r"^## .*$", text, flags=re.M)]
        exercises = [m.start() for m in re.finditer(r"^## Exercises\s*$", text, flags=re.M)]
        assert exercises and exercises[-1] == sections[-1], (
            f"{entry}: `## Exercises` must be the chapter's last section")
        first_ex = re.search(r"\{exercise(?:-start)?\}", text).start()
        assert first_ex > exercises[-1], f"{entry}: an exercise stands before `## Exercises`"
        for match in re.finditer(r"```\{solution(?:-start)?\}[^\n]*\n((?::[^\n]*\n)*)", text):
            assert ":class: dropdown" in match.group(1), (
                f"{entry}: a solution is not folded (`:class: dropdown`): {match.group(0)!r}")


def test_the_template_checks_catch_what_they_should():
    def nb(*cells):
        return {"cells": [{"cell_type": "code", "source": s, "metadata": {"tags": t}}
                          for s, t in cells]}
    checks = nb(("assert a\nglue('x', 1, display=False)\ny = 2", []),
                ("for k in ks:\n    glue(k, 1, display=False)\nassert z", ["remove-cell"]),
                ("x = f(1)\nassert x", []))
    assert assert_and_glue_cells(checks) == [0, 1]
    tree = ast.parse("import nmf_lib as nl\nfrom nmf_lib.metrics import _pearson\n"
                     "y = nmf_lib.steppers._mu_steps\nz = nmf_lib.__file__")
    assert [(n, a) for _, n, a in _imports(tree)] == [("nmf_lib", "nl"),
                                                      ("nmf_lib.metrics._pearson", None)]
    assert [d for d in _attribute_chains(tree) if _private(d)] == ["nmf_lib.steppers._mu_steps"]
    assert MATPLOTLIB_SETTINGS.search('plt.rcParams["figure.facecolor"] = "white"')
    assert not MATPLOTLIB_SETTINGS.search("ax.plot(src, arc(x))")


# ----------------------------------------------------- the setup cell, outside the book

def _run_setup_cell(tmp_path: Path, prelude: str = "") -> subprocess.CompletedProcess:
    """The setup cell in a bare Python (-I -S: no site-packages, so no nmf_lib)."""
    script = tmp_path / "setup_cell.py"
    script.write_text(prelude + "\n" + setup_source())
    return subprocess.run([sys.executable, "-I", "-S", str(script)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_setup_cell_says_what_to_install_where_nmf_lib_is_missing(tmp_path):
    run = _run_setup_cell(tmp_path)
    assert run.returncode != 0, "the setup cell let a chapter go on without nmf_lib"
    assert "ModuleNotFoundError: this chapter needs nmf_lib" in run.stderr, run.stderr
    assert "No module named" not in run.stderr, run.stderr
    message = run.stderr[run.stderr.index("ModuleNotFoundError"):]
    assert "nmf_lib" in message and INSTALL in message, message
    assert "make lab" in message and REPOSITORY in message, message


def test_setup_cell_installs_nmf_lib_on_colab(tmp_path):
    # Colab is recognised by its google.colab module; there the custom is %pip install
    prelude = (
        "import builtins, json, sys, types\n"
        "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
        "class Shell:\n"
        "    def run_line_magic(self, name, line):\n"
        "        print(json.dumps([name, line]))\n"
        "builtins.get_ipython = lambda: Shell()\n"
    )
    run = _run_setup_cell(tmp_path, prelude)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[0]) == ["pip", INSTALL.removeprefix("pip ")]


def test_setup_cell_is_silent_where_nmf_lib_is_installed():
    run = subprocess.run([sys.executable, "-c", setup_source()], cwd=BOOK,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and not run.stdout and not run.stderr, run
