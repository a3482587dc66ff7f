"""No stale outputs: a chapter is executed again when what it computes with has changed.

Jupyter Book executes the chapters with ``execute_notebooks: cache``: jupyter-cache
keys each executed notebook on the notebook's own code cells, and Sphinx re-reads only
the documents whose source file changed. Neither sees the library a chapter imports, so
after a change to ``nmf_lib`` a build would reuse every old output and report success.
This extension, active in every build (``make book`` or a plain ``jupyter-book build .``),
adds the two missing links:

1. **The inputs are hashed.** ``execution_inputs`` (files or folders, relative to the
   book's root) and ``execution_packages`` (installed distributions, by version) are set
   in ``_config.yml`` under ``sphinx.config``; with the Python version they make one
   SHA-256. It is stored in the jupyter-cache folder (``execution-inputs.json``). When
   it differs from the stored one, every cached execution is dropped (the whole cache:
   every chapter imports the library).

2. **A chapter that is not in the cache is read again.** Before Sphinx decides what to
   read, every notebook whose current code has no cached execution is added to the
   documents to re-read, and so is executed. After step 1 that is every chapter; it is
   also a chapter whose last execution failed (jupyter-cache keeps only successes), so a
   broken chapter fails every build until it is fixed, not only the first one.

When nothing changed, every chapter still comes from the cache and nothing is re-read.
tests/test_fresh_outputs.py shows both, on a small copy of the book.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from sphinx.util import logging
from sphinx.util.matching import Matcher

logger = logging.getLogger(__name__)

STAMP = "execution-inputs.json"


def _files(root: Path, entry: str) -> list[Path]:
    path = root / entry
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file()
                      and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"))
    if path.is_file():
        return [path]
    raise FileNotFoundError(f"execution_inputs names {entry!r}, which is not under {root}")


def inputs_digest(root: Path, inputs: list[str], packages: list[str]) -> tuple[str, dict]:
    """The SHA-256 of the inputs' bytes, the packages' versions and Python's version."""
    files = {}
    for entry in inputs:
        for path in _files(root, entry):
            files[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    described = {"python": platform.python_version(), "files": files, "packages": versions}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest(), described


def _cache_path(app) -> Path | None:
    config = getattr(app.env, "mystnb_config", None)
    if config is None or config.execution_mode != "cache":
        return None
    return Path(config.execution_cache_path)


def _drop_stale_cache(app) -> None:
    cache_path = _cache_path(app)
    if cache_path is None:
        return
    root = Path(app.srcdir)
    digest, described = inputs_digest(root, app.config.execution_inputs,
                                      app.config.execution_packages)
    stamp = cache_path / STAMP
    try:
        stored = json.loads(stamp.read_text())
    except (OSError, ValueError):
        stored = {}
    if stored.get("digest") == digest:
        return
    if (cache_path / "global.db").exists():
        changed = sorted(
            key for key in set(stored.get("files", {})) | set(described["files"])
            if stored.get("files", {}).get(key) != described["files"].get(key)
        ) or ["the packages or Python"]
        logger.info("[fresh_outputs] the chapters' inputs changed (%s): "
                    "dropping every cached execution", ", ".join(changed[:5]))
        get_cache(str(cache_path)).clear_cache()
    cache_path.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({"digest": digest, **described}, indent=1, sort_keys=True))


def _unexecuted_notebooks(app, env, added, changed, removed) -> list[str]:
    """Notebooks whose current code has no cached execution: read (and execute) them."""
    cache_path = _cache_path(app)
    if cache_path is None:
        return []
    cache = get_cache(str(cache_path))
    excluded = Matcher(env.mystnb_config.execution_excludepatterns or [])
    stale = []
    for docname in sorted(env.found_docs - added - changed):
        source = Path(env.doc2path(docname))
        if source.suffix != ".ipynb" or excluded(source.relative_to(app.srcdir).as_posix()):
            continue
        notebook = nbformat.read(source, as_version=4)
        try:
            cache.match_cache_notebook(notebook)
        except KeyError:
            stale.append(docname)
    if stale:
        logger.info("[fresh_outputs] not in the execution cache, read again: %s",
                    ", ".join(stale))
    return stale


def setup(app):
    app.add_config_value("execution_inputs", [], "env", [list])
    app.add_config_value("execution_packages", [], "env", [list])
    # after myst-nb has set up its configuration (the cache's path) at builder-inited
    app.connect("builder-inited", _drop_stale_cache, priority=900)
    app.connect("env-get-outdated", _unexecuted_notebooks)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
