"""`make lab` starts a JupyterLab whose kernel imports this repository's nmf_lib.

The test runs `make lab` itself, headless: on a free port of 127.0.0.1, with a token and
without a browser, asks the server's REST API for its kernel specs, starts the kernel the
chapters name (python3), runs `import nmf_lib` in it over the kernel's websocket, checks
where the module came from, and shuts the server down. The Makefile is told not to
install anything (`-o` on its install stamps) and to use the environment running this
test. Skipped when JupyterLab is not installed (the `lab` extra); `make test` installs it
and sets NMF_FULL_TEST=1, so there it runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib.util import find_spec
from pathlib import Path

import pytest

from builtsite import REPO, require

START_TIMEOUT = 120  # s: a loaded 2-core machine takes a while to import JupyterLab


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, port: int, token: str):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def api(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            self.base + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text else None


async def _execute(url: str, token: str, code: str, timeout: float = 60) -> str:
    """Run `code` in a kernel through the server's websocket; return what it printed."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    msg_id = uuid.uuid4().hex
    ws.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }))
    printed, deadline = [], time.monotonic() + timeout
    try:
        while True:
            raw = await asyncio.wait_for(ws.read_message(), deadline - time.monotonic())
            assert raw is not None, "the kernel's websocket closed"
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            elif msg["msg_type"] == "execute_reply":
                return "".join(printed)
    finally:
        ws.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if find_spec("jupyterlab") is None:
        require("JupyterLab is not installed, so `make lab` is not tested: "
                "`make test` installs it (pip install -e '.[lab]')")
    make = shutil.which("make")
    if make is None:
        require("no `make` on this machine, so `make lab` is not tested")
    port, token = _free_port(), secrets.token_hex(16)
    prefix = Path(sys.prefix)
    log = (tmp_path_factory.mktemp("lab") / "lab.log").open("w+")
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} " \
           f"--ServerApp.port_retries=0 --IdentityProvider.token={token}"
    process = subprocess.Popen(
        [make, "-s", "-C", str(REPO), "-o", f"{prefix}/.installed", "-o", f"{prefix}/.installed-lab",
         "lab", f"VENV={prefix}", f"LAB_ARGS={args}"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    server = Server(port, token)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                server.api("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"`make lab` did not serve on port {port}:\n{log.read()[-3000:]}")
                time.sleep(0.5)
        yield server
    finally:
        try:
            server.api("POST", "/api/shutdown")
            process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
        log.close()


def test_make_lab_serves_the_book_with_this_environment_as_kernel(lab):
    specs = lab.api("GET", "/api/kernelspecs")
    assert specs["default"] == "python3" and "python3" in specs["kernelspecs"], specs

    contents = lab.api("GET", "/api/contents")  # the server's root is book/
    names = {item["name"] for item in contents["content"]}
    assert "introduction.ipynb" in names and "matplotlibrc" in names, names

    # what JupyterLab does when a chapter is opened: a session for it, with a kernel
    session = lab.api("POST", "/api/sessions", {"path": "introduction.ipynb", "type": "notebook",
                                                "name": "", "kernel": {"name": "python3"}})
    try:
        url = lab.base.replace("http", "ws") + f"/api/kernels/{session['kernel']['id']}/channels"
        code = "import os, sys, nmf_lib\nprint(nmf_lib.__file__, os.getcwd(), sys.prefix, sep='\\n')"
        # in a thread of its own: the browser tests may keep an event loop running in this one
        with ThreadPoolExecutor(1) as pool:
            printed = pool.submit(asyncio.run, _execute(url, lab.token, code)).result()
        module_file, cwd, prefix = printed.strip().splitlines()
        assert Path(module_file) == REPO / "nmf_lib" / "__init__.py"  # this checkout's library
        assert Path(cwd) == REPO / "book"                              # where the chapters run
        assert Path(prefix) == Path(sys.prefix)                        # in this environment
    finally:
        lab.api("DELETE", f"/api/sessions/{session['id']}")
