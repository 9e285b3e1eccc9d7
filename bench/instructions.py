"""CPU instructions per request through the whole ASGI app, counted by callgrind.

Wall-clock figures on a shared VM move with the hypervisor's steal (0 to 90 % between two
runs of ``bench/run.py`` here), so a few-percent change in the pipeline cannot be seen in
req/s. An instruction count can: ``valgrind --tool=callgrind`` counts what the process
executes, whatever else the machine does. This script calls the ASGI app in-process (no
server, no sockets: Granian's share is the same for any Baobab commit) on FileStorage, for
each case runs ``--small`` and ``--large`` requests in two processes under callgrind with
``PYTHONHASHSEED=0``, and prints ``(large - small) / (large - small requests)``: the
instructions of one request, start-up and warm-up cancelled out.

Cases: ``get`` (a Document's JSON with a Bearer token), ``post`` (create a Document in a
folder), ``patch`` (change a Document's description). To compare two commits, run it with
each commit's virtualenv::

    .venv/bin/python bench/instructions.py
    /path/to/other/checkout/.venv/bin/python bench/instructions.py

``--observe`` turns on what an operator adds (``metrics.enabled`` and ``server.log_format``
``"json"``, issue 14): run once with it and once without to see their cost per request.

Needs valgrind (``apt-get install valgrind``). Each case takes a minute or two.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

ROOT_PASSWORD = "root-secret"  # baobab.testing.make_settings's root
DOCUMENT = {
    "@type": "Document",
    "id": "doc",
    "title": "Baobab benchmark document",
    "description": "A page of ordinary size, read and written by the benchmark.",
    "text": ("Baobabs store water in their trunks to live through the dry season. " * 20),
    "subjects": ["benchmark", "performance", "asgi"],
}
CASES = {
    "get": ("GET", "/db/site/folder/doc", b"", 200),
    "post": ("POST", "/db/site/inbox", b'{"@type": "Document", "text": "Some text."}', 201),
    "patch": ("PATCH", "/db/site/folder/doc", b'{"description": "changed"}', 204),
}


async def _call(app: Any, method: str, path: str, body: bytes, auth: bytes) -> tuple[int, bytes]:
    """One request into the app. Written here, not taken from ``baobab.testing.call_app``:
    this script runs under other commits' virtualenvs, whose test kit may lack it, and the
    per-request cost it adds must be the same on both sides of a comparison."""
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status, chunks = [0], []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    headers = [(b"host", b"bench"), (b"content-type", b"application/json")]
    if auth:
        headers.append((b"authorization", auth))
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("bench", 80),
        "client": ("127.0.0.1", 1),
    }
    await app(scope, receive, send)
    return status[0], b"".join(chunks)


def _settings(observe: bool) -> Any:
    from baobab.testing import make_settings

    settings = make_settings(Path(tempfile.mkdtemp()) / "var", "filestorage")
    if not observe:
        return settings
    import msgspec

    return msgspec.convert(
        {
            **msgspec.to_builtins(settings),
            "metrics": {"enabled": True, "port": None},
            "server": {**msgspec.to_builtins(settings.server), "log_format": "json"},
        },
        type=type(settings),
    )


async def _child(case: str, count: int, observe: bool) -> None:
    """Seed, log in, warm up, then ``count`` requests of ``case`` (run under callgrind)."""
    from baobab.asgi.app import BaobabApp

    app = BaobabApp(_settings(observe))
    await app.startup()
    try:
        login = orjson.dumps({"login": "root", "password": ROOT_PASSWORD})
        status, body = await _call(app, "POST", "/@login", login, b"")
        assert status == 200, body
        auth = b"Bearer " + orjson.loads(body)["token"].encode()
        seed = [
            ("/db", {"@type": "Container", "id": "site"}),
            ("/db/site", {"@type": "Folder", "id": "folder"}),
            ("/db/site", {"@type": "Folder", "id": "inbox"}),
            ("/db/site/folder", DOCUMENT),
        ]
        for path, data in seed:
            status, body = await _call(app, "POST", path, orjson.dumps(data), auth)
            assert status == 201, body
        method, path, payload, expected = CASES[case]
        for _ in range(20):
            status, body = await _call(app, method, path, payload, auth)
            assert status == expected, body
        for _ in range(count):
            await _call(app, method, path, payload, auth)
    finally:
        await app.shutdown()


def _instructions(case: str, count: int, observe: bool) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--child",
            case,
            str(count),
            *(["--observe"] if observe else []),
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise SystemExit(f"callgrind failed for {case} x{count}:\n{done.stderr[-2000:]}")
        return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--only", nargs="*", choices=list(CASES), default=list(CASES))
    parser.add_argument("--small", type=int, default=100, help="requests in the first run")
    parser.add_argument("--large", type=int, default=500, help="requests in the second run")
    parser.add_argument(
        "--observe", action="store_true", help="metrics on and JSON logs (issue 14)"
    )
    parser.add_argument("--child", nargs=2, metavar=("CASE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        asyncio.run(_child(args.child[0], int(args.child[1]), args.observe))
        return 0
    import baobab

    print(f"baobab from {Path(baobab.__file__).parent}")
    for case in args.only:
        small = _instructions(case, args.small, args.observe)
        large = _instructions(case, args.large, args.observe)
        per_request = (large - small) / (args.large - args.small)
        print(f"{case:6} {per_request:12,.0f} instructions per request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
