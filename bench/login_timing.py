"""Latency of refused logins on a real ``baobab serve``: an existing login with a wrong
password against an unknown login, with production argon2 parameters.

Before the timing fix an unknown login answered in about 3 ms and an existing one in about
166 ms (one argon2 verification): user enumeration by timing. Each refusal now costs one
verification, so the medians should agree within noise.

Starts the server with the test kit's harness (FileStorage in a throw-away directory, the
default ``auth.argon2``, the throttle off so that the flood is not cut short), creates
``/db/site`` and its user ``alice``, then sends ``--rounds`` rounds, each case once per
round in turn, one request at a time, and prints p50 and p90 per case::

    .venv/bin/python bench/login_timing.py --rounds 40
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from baobab.testing import content_call, send_sync, user_call
from baobab.testing.server import JWT_SECRET, ROOT_PASSWORD, Servers

SITE = "/db/site"

CASES: dict[str, tuple[str, dict[str, str] | None, dict[str, str] | None]] = {
    # name: (path, JSON body for POST, Basic credentials for GET)
    "@login root, wrong password": ("/@login", {"login": "root", "password": "wrong"}, None),
    "@login unknown login": ("/@login", {"login": "ghost", "password": "wrong"}, None),
    "site @login alice, wrong password": (
        f"{SITE}/@login",
        {"login": "alice", "password": "wrong"},
        None,
    ),
    "site @login unknown login": (
        f"{SITE}/@login",
        {"login": "ghost", "password": "wrong"},
        None,
    ),
    "Basic alice, wrong password": (SITE, None, {"login": "alice", "password": "wrong"}),
    "Basic unknown login": (SITE, None, {"login": "ghost", "password": "wrong"}),
}


def once(
    client: httpx.Client, path: str, body: dict[str, str] | None, basic: dict[str, str] | None
) -> float:
    start = time.perf_counter()
    if body is not None:
        resp = client.post(path, json=body)
    else:
        assert basic is not None
        resp = client.get(path, auth=(basic["login"], basic["password"]))
    elapsed = time.perf_counter() - start
    if resp.status_code != 401:
        raise SystemExit(f"{path}: expected 401, got {resp.status_code} {resp.text}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="baobab-login-timing-") as tmp,
        Servers(Path(tmp)) as servers,
    ):
        config = servers.config(
            {
                "var_dir": str(servers.var),
                "auth": {
                    "root_password": ROOT_PASSWORD,
                    "jwt_secret": JWT_SECRET,
                    "throttle": {"login_failures": 0, "address_failures": 0},
                },
                "server": {"access_log": False},
            }
        )
        server = servers.serve(config)
        with server.root_client() as root:
            send_sync(root, content_call("/db", "Container", "site", title="Site"))
            send_sync(root, user_call(SITE, "alice", "alice-password"))
        times: dict[str, list[float]] = {name: [] for name in CASES}
        with server.client() as client:
            for case in CASES.values():  # warm-up: connections, caches, the first hash
                once(client, *case)
            for _ in range(args.rounds):
                for name, case in CASES.items():
                    times[name].append(once(client, *case))
        print(f"{args.rounds} rounds, one request at a time, default auth.argon2")
        print(f"{'case':<36} {'p50 ms':>8} {'p90 ms':>8}")
        for name, values in times.items():
            deciles = statistics.quantiles(values, n=10)
            print(f"{name:<36} {statistics.median(values) * 1000:8.1f} {deciles[8] * 1000:8.1f}")


if __name__ == "__main__":
    main()
