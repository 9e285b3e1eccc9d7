"""Cheap abuse of password checks: user enumeration by timing, and wrong-password floods.

Timing is not measured here (``bench/login_timing.py`` does, against a real server): what
makes both paths cost the same is that an unknown login, a disabled user or a wrong password
each run exactly one argon2 verification, with the parameters of real hashes. A counting
``PasswordHasher`` put where the application's verifier keeps its hasher sees every call.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import argon2
import httpx
import pytest

from baobab.asgi import BaobabApp
from baobab.testing import (
    ROOT_PASSWORD,
    BaobabClient,
    add_user,
    assert_envelope,
    delete_redis_keys,
    make_settings,
    require_redis,
)

LIMITS = {"login_failures": 3, "address_failures": 5, "window": 60, "lockout": 120}


class CountingHasher(argon2.PasswordHasher):
    """A real argon2 hasher that remembers the hash of every verification it runs."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(hash if isinstance(hash, str) else hash.decode())
        return super().verify(hash, password)


@pytest.fixture
def baobab_overrides() -> dict[str, Any]:
    return {"auth": {"throttle": LIMITS}}


@pytest.fixture
def hasher(baobab_app: BaobabApp) -> CountingHasher:
    assert baobab_app.state is not None
    argon = baobab_app.state.settings.auth.argon2
    counting = CountingHasher(
        time_cost=argon.time_cost, memory_cost=argon.memory_cost, parallelism=argon.parallelism
    )
    baobab_app.state.authenticator.verifier.hasher = counting
    return counting


def from_address(app: BaobabApp, address: str, **kwargs: Any) -> BaobabClient:
    """An anonymous client whose connection comes from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return BaobabClient(transport=transport, base_url="http://baobab.test", **kwargs)


def basic(login: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture
async def anon(baobab_app: BaobabApp) -> AsyncIterator[BaobabClient]:
    async with from_address(baobab_app, "10.0.0.1") as c:
        yield c


@pytest.fixture
async def alice(client: BaobabClient, site: str) -> str:
    await add_user(client, site, "alice", "alice-password", email="alice@example.org")
    await add_user(client, site, "dora", "dora-password")
    assert (await client.patch(f"{site}/@users/dora", json={"disabled": True})).status_code == 204
    return site


# -- timing: one argon2 verification, whoever the login names --------------------------


async def test_every_refused_login_runs_one_argon2_verification(
    baobab_app: BaobabApp, hasher: CountingHasher, anon: BaobabClient, alice: str
) -> None:
    site = alice
    assert baobab_app.state is not None
    argon = baobab_app.state.settings.auth.argon2
    attempts = {
        "unknown at /": ("/@login", "ghost", "x"),
        "wrong at /": ("/@login", "root", "x"),
        "unknown in a site": (f"{site}/@login", "ghost", "x"),
        "wrong in a site": (f"{site}/@login", "alice", "x"),
        "disabled, right password": (f"{site}/@login", "dora", "dora-password"),
    }
    bodies = {}
    for name, (path, login, password) in attempts.items():
        before = len(hasher.verified)
        resp = await anon.post(path, json={"login": login, "password": password})
        bodies[name] = assert_envelope(resp, 401, "Unauthorized")
        assert len(hasher.verified) == before + 1, name
        # the hash verified has the parameters of real hashes (auth.argon2)
        params = argon2.extract_parameters(hasher.verified[-1])
        assert (params.time_cost, params.memory_cost, params.parallelism) == (
            argon.time_cost,
            argon.memory_cost,
            argon.parallelism,
        ), name
    # and the answers are word for word the same
    assert len({str(body) for body in bodies.values()}) == 1, bodies


async def test_every_refused_basic_login_runs_one_argon2_verification(
    hasher: CountingHasher, anon: BaobabClient, alice: str
) -> None:
    site = alice
    attempts = {
        "unknown above sites": ("/db", "ghost", "x"),
        "unknown in a site": (site, "ghost", "x"),
        "wrong in a site": (site, "alice", "x"),
        "disabled in a site": (site, "dora", "dora-password"),
        "global, wrong": (site, "editor", "x"),
    }
    bodies = {}
    for name, (path, login, password) in attempts.items():
        before = len(hasher.verified)
        resp = await anon.get(path, headers=basic(login, password))
        bodies[name] = assert_envelope(resp, 401, "Unauthorized")
        assert len(hasher.verified) == before + 1, name
    assert len({str(body) for body in bodies.values()}) == 1, bodies


async def test_the_dummy_hash_is_made_once(
    baobab_app: BaobabApp, hasher: CountingHasher, anon: BaobabClient
) -> None:
    for _ in range(3):
        await anon.post("/@login", json={"login": "ghost", "password": "x"})
    assert baobab_app.state is not None
    assert hasher.verified == [baobab_app.state.authenticator.dummy_hash] * 3


# -- the throttle ------------------------------------------------------------------------


def assert_throttled(resp: httpx.Response) -> dict[str, Any]:
    body = assert_envelope(resp, 429, "TooManyRequests")
    retry_after = int(resp.headers["retry-after"])
    assert LIMITS["lockout"] - 5 <= retry_after <= LIMITS["lockout"]
    assert body["details"] == {"retry_after": retry_after}
    return body


async def test_a_login_name_is_locked_after_its_failures_whatever_the_address(
    baobab_app: BaobabApp, hasher: CountingHasher
) -> None:
    async with (
        from_address(baobab_app, "10.0.0.1") as first,
        from_address(baobab_app, "10.0.0.2") as second,
    ):
        for _ in range(LIMITS["login_failures"]):
            resp = await first.post("/@login", json={"login": "root", "password": "x"})
            assert resp.status_code == 401
        checked = len(hasher.verified)
        # locked: even the right password is not checked, from any address
        for client in (first, second):
            resp = await client.post("/@login", json={"login": "root", "password": ROOT_PASSWORD})
            assert_throttled(resp)
            assert_throttled(await client.get("/db", headers=basic("root", ROOT_PASSWORD)))
        assert len(hasher.verified) == checked
        # other login names are not locked
        resp = await second.post("/@login", json={"login": "editor", "password": "editor-secret"})
        assert resp.status_code == 200


async def test_unknown_and_existing_names_lock_alike(
    baobab_app: BaobabApp, hasher: CountingHasher
) -> None:
    answers = []
    for address, login in (("10.0.1.1", "root"), ("10.0.1.2", "ghost")):
        async with from_address(baobab_app, address) as client:
            statuses = []
            for _ in range(LIMITS["login_failures"] + 1):
                resp = await client.post("/@login", json={"login": login, "password": "x"})
                statuses.append(resp.status_code)
            body = assert_throttled(resp)
            answers.append((statuses, body["type"], body["message"], resp.headers.keys()))
    assert answers[0] == answers[1]
    assert answers[0][0] == [401] * LIMITS["login_failures"] + [429]


async def test_an_address_is_locked_after_its_failures_whatever_the_login(
    baobab_app: BaobabApp, hasher: CountingHasher, alice: str
) -> None:
    site = alice
    async with (
        from_address(baobab_app, "10.0.2.1") as attacker,
        from_address(baobab_app, "10.0.2.2") as bystander,
    ):
        for index in range(LIMITS["address_failures"]):
            resp = await attacker.post("/@login", json={"login": f"u{index}", "password": "x"})
            assert resp.status_code == 401
        checked = len(hasher.verified)
        resp = await attacker.post(
            f"{site}/@login", json={"login": "alice", "password": "alice-password"}
        )
        assert_throttled(resp)
        assert_throttled(await attacker.get(site, headers=basic("alice", "alice-password")))
        assert len(hasher.verified) == checked
        # the same login from another address is not locked
        resp = await bystander.get(site, headers=basic("alice", "alice-password"))
        assert resp.status_code == 200


async def test_basic_failures_count_and_lock_too(baobab_app: BaobabApp, alice: str) -> None:
    site = alice
    async with from_address(baobab_app, "10.0.3.1") as client:
        for _ in range(LIMITS["login_failures"]):
            assert (await client.get(site, headers=basic("alice", "x"))).status_code == 401
        assert_throttled(await client.get(site, headers=basic("alice", "alice-password")))
        resp = await client.post(
            f"{site}/@login", json={"login": "alice", "password": "alice-password"}
        )
        assert_throttled(resp)


async def test_a_right_password_clears_no_failures(baobab_app: BaobabApp) -> None:
    """With Basic auth every request of the real user is a right password: were failures
    cleared by it, each would give an attacker a fresh allowance."""
    wrong = {"login": "editor", "password": "x"}
    right = {"login": "editor", "password": "editor-secret"}
    async with from_address(baobab_app, "10.0.4.1") as client:
        for _ in range(LIMITS["login_failures"] - 1):
            assert (await client.post("/@login", json=wrong)).status_code == 401
        assert (await client.post("/@login", json=right)).status_code == 200
        assert (await client.get("/db", headers=basic("editor", "editor-secret"))).is_success
        assert (await client.post("/@login", json=wrong)).status_code == 401
        assert_throttled(await client.post("/@login", json=right))


async def test_a_lock_ends_after_its_lockout(tmp_path: Any) -> None:
    limits = {**LIMITS, "lockout": 1}
    app = BaobabApp(make_settings(tmp_path / "var", auth={"throttle": limits}))
    await app.startup()
    try:
        async with from_address(app, "10.0.5.1") as client:
            for _ in range(LIMITS["login_failures"]):
                await client.post("/@login", json={"login": "root", "password": "x"})
            resp = await client.post("/@login", json={"login": "root", "password": ROOT_PASSWORD})
            assert resp.status_code == 429
            assert resp.headers["retry-after"] == "1"
            await asyncio.sleep(1.2)
            resp = await client.post("/@login", json={"login": "root", "password": ROOT_PASSWORD})
            assert resp.status_code == 200
    finally:
        await app.shutdown()


async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(tmp_path: Any) -> None:
    async def lock_out(app: BaobabApp) -> int:
        """Five failures from 127.0.0.1, each claiming another address; the status of
        a sixth attempt (another login, claiming yet another address)."""
        async with from_address(app, "127.0.0.1") as client:
            for index in range(LIMITS["address_failures"]):
                resp = await client.post(
                    "/@login",
                    json={"login": f"u{index}", "password": "x"},
                    headers={"x-forwarded-for": f"203.0.113.{index}"},
                )
                assert resp.status_code == 401
            resp = await client.post(
                "/@login",
                json={"login": "root", "password": ROOT_PASSWORD},
                headers={"x-forwarded-for": "203.0.113.99"},
            )
            return resp.status_code

    untrusting = BaobabApp(make_settings(tmp_path / "a", auth={"throttle": LIMITS}))
    trusting = BaobabApp(
        make_settings(
            tmp_path / "b",
            auth={"throttle": LIMITS},
            server={"forwarded_allow_ips": ["127.0.0.0/8"]},
        )
    )
    for app in (untrusting, trusting):
        await app.startup()
    try:
        # by default the header is ignored: rotating it does not escape the address's count
        assert await lock_out(untrusting) == 429
        # behind a trusted proxy each client counts for itself
        assert await lock_out(trusting) == 200
    finally:
        for app in (untrusting, trusting):
            await app.shutdown()


async def test_workers_sharing_redis_count_together(tmp_path: Any) -> None:
    url = require_redis()
    prefix = f"baobab-throttle-test-{id(tmp_path)}"
    pubsub = {"redis": url, "prefix": prefix}
    apps = [
        BaobabApp(make_settings(tmp_path / name, auth={"throttle": LIMITS}, pubsub=pubsub))
        for name in ("one", "two")
    ]
    for app in apps:
        await app.startup()
    try:
        async with (
            from_address(apps[0], "10.0.6.1") as first,
            from_address(apps[1], "10.0.6.2") as second,
        ):
            for index in range(LIMITS["login_failures"]):
                client = (first, second)[index % 2]
                resp = await client.post("/@login", json={"login": "root", "password": "x"})
                assert resp.status_code == 401
            for client in (first, second):
                resp = await client.post(
                    "/@login", json={"login": "root", "password": ROOT_PASSWORD}
                )
                assert_throttled(resp)
            # other names are not locked
            resp = await second.post(
                "/@login", json={"login": "editor", "password": "editor-secret"}
            )
            assert resp.status_code == 200
    finally:
        for app in apps:
            await app.shutdown()
        delete_redis_keys(url, prefix)
