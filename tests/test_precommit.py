"""The optional pre-commit hooks (.pre-commit-config.yaml) agree with the tests.

The notebook stripper must produce exactly what tests/test_notebooks.py requires and the
build needs: a chapter executed and saved by Jupyter (outputs, execution counts, the
metadata Jupyter adds), once stripped with the hook's arguments, is the stored chapter
byte for byte, so the hook never fights the tests and never rewrites a stored chapter.
Runs the installed nbstripout (the version the hook pins; the test extra installs it) on
copies, never pre-commit itself: no network.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import yaml

from builtsite import require

ROOT = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def hook(repo_end: str, hook_id: str) -> tuple[dict, dict]:
    for repo in CONFIG["repos"]:
        for entry in repo.get("hooks", []):
            if repo["repo"].endswith(repo_end) and entry["id"] == hook_id:
                return repo, entry
    raise AssertionError(f"no hook {hook_id} from {repo_end} in .pre-commit-config.yaml")


def test_the_stripper_pins_the_version_the_tests_run():
    repo, _ = hook("/nbstripout", "nbstripout")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert f"nbstripout=={repo['rev']}" in pyproject["project"]["optional-dependencies"]["test"]


def test_the_stripper_keeps_what_the_tests_and_the_build_need():
    _, entry = hook("/nbstripout", "nbstripout")
    args = entry.get("args", [])
    assert "--keep-output" not in args and "--keep-count" not in args, args
    assert "--keep-id" in args, "without --keep-id nbstripout renumbers the stored cell ids"
    dropped = " ".join(args[args.index(flag) + 1] for flag in ("--extra-keys", "--drop-tagged-cells")
                       if flag in args)
    for needed in ("kernelspec", "tags", "mystnb", "remove-cell"):
        assert needed not in dropped, f"the hook would strip {needed}: {args}"


def _as_saved_by_jupyter(nb: dict) -> dict:
    """The chapter after a run in JupyterLab: outputs, counts, the metadata it adds."""
    nb = json.loads(json.dumps(nb))
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    count = 0
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            count += 1
            cell["execution_count"] = count
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["42\n"]},
                               {"output_type": "execute_result", "execution_count": count,
                                "data": {"text/plain": ["42"]}, "metadata": {}}]
            cell["metadata"]["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
            cell["metadata"]["scrolled"] = True
    return nb


def test_a_chapter_run_in_jupyter_strips_back_to_the_stored_chapter(tmp_path):
    repo, entry = hook("/nbstripout", "nbstripout")
    try:
        installed = metadata.version("nbstripout")
    except metadata.PackageNotFoundError:
        require("nbstripout is not installed (pip install -e '.[test]'), so the hook's "
                "output is not checked")
    assert installed == repo["rev"], f"nbstripout {installed} installed, the hook runs {repo['rev']}"
    copies = []
    for path in NOTEBOOKS:
        copy = tmp_path / path.name
        nb = _as_saved_by_jupyter(json.loads(path.read_text()))
        copy.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        copies.append(copy)
    run = subprocess.run([sys.executable, "-m", "nbstripout", *entry.get("args", []),
                          *map(str, copies)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    differ = [path.name for path, copy in zip(NOTEBOOKS, copies)
              if copy.read_text() != path.read_text()]
    assert not differ, f"after the hook these differ from the stored chapters: {differ}"


def test_the_linter_is_configured_in_pyproject():
    repo, _ = hook("/ruff-pre-commit", "ruff-check")
    assert repo["rev"].startswith("v")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["ruff"]["lint"]["select"], "no ruff rules selected"
