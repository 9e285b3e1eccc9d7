"""The hub applies account changes (roles, groups, disabled, removed; logouts) in bus order:
the batches after one are judged with it, with nothing awaited in between; a socket whose
handshake was under way catches up on those delivered meanwhile."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from live_support import batch, cursor, event

from baobab.events import Account
from baobab.live.backlog import Backlog
from baobab.live.bus import MemoryBus
from baobab.live.hub import CLOSE_AUTH, Connection, Hub
from baobab.live.wire import PrincipalsMessage, RevokedMessage
from baobab.security.principals import Principal

BASE = "http://baobab.test"
SITE = "/db/site"
STAFF = "user:staff"


async def _send(frame: bytes) -> None:
    raise AssertionError("the writer is not started in these tests")


async def _close(code: int, reason: str) -> None:
    raise AssertionError("the writer is not started in these tests")


def conn(
    who: str,
    groups: tuple[str, ...] = (),
    roles: tuple[str, ...] = (),
    container: str | None = SITE,
    token_id: str | None = None,
) -> Connection:
    principal = Principal(
        id=who,
        roles=frozenset(roles),
        groups=frozenset(groups),
        container=container,
        token_id=token_id,
        token_expiry=123 if token_id else None,
    )
    return Connection(principal, SITE, BASE, _send, _close, 1 << 20, max_subscriptions=3)


def joined(hub: Hub, *conns: Connection) -> None:
    """As ``hub.add`` does, without starting writers: frames stay in the queues."""
    for c in conns:
        hub.connections.add(c)
        hub.subscribe(c, SITE, None)


def frames(c: Connection) -> list[dict[str, Any]]:
    return [orjson.loads(f) for f in c.queue]


def account(
    id_: str, groups: tuple[str, ...] = (), roles: tuple[str, ...] = (), active: bool = True
) -> Account:
    return Account(id=id_, title=id_.title(), roles=roles, groups=groups, active=active)


def changed(*accounts: Account, container: str = SITE) -> PrincipalsMessage:
    ids = tuple(a.id for a in accounts)
    return PrincipalsMessage(db="db", container=container, ids=ids, accounts=accounts)


@pytest.fixture
def hub() -> Hub:
    bus = MemoryBus(100)
    bus.backlogs["db"] = Backlog(100, (100, 1 << 62))
    return Hub(bus, recent=2)


def test_leaving_a_group_applies_to_the_very_next_batch(hub: Hub) -> None:
    alice, bob = conn("alice", groups=("staff",)), conn("bob", groups=("staff",))
    joined(hub, alice, bob)
    hub.deliver(changed(account("alice")))  # alice left staff; bob did not
    hub.deliver(batch(101, event(f"{SITE}/f", "modified", allowed=(STAFF,))))
    assert frames(alice) == []
    assert [f["event"] for f in frames(bob)] == ["modified"]
    assert alice.principal.groups == frozenset()
    assert (alice.principal.title, alice.principal.container) == ("Alice", SITE)


def test_losing_and_gaining_global_roles(hub: Hub) -> None:
    alice = conn("alice", roles=("baobab.Reader",), token_id="t1")
    joined(hub, alice)
    hub.deliver(changed(account("alice")))
    hub.deliver(batch(101, event(f"{SITE}/a", allowed=("baobab.Reader",))))
    hub.deliver(changed(account("alice", roles=("baobab.Reviewer",))))
    hub.deliver(batch(102, event(f"{SITE}/b", allowed=("baobab.Reviewer",))))
    assert [f["@id"] for f in frames(alice)] == [f"{BASE}{SITE}/b"]
    assert (alice.principal.token_id, alice.principal.token_expiry) == ("t1", 123)


def test_a_disabled_or_removed_user_is_closed_before_any_later_frame(hub: Hub) -> None:
    alice, bob, carol = conn("alice"), conn("bob"), conn("carol")
    joined(hub, alice, bob, carol)
    hub.deliver(changed(account("alice", active=False), account("bob", active=False)))
    hub.deliver(batch(101, event(f"{SITE}/doc")))
    for closed in (alice, bob):
        assert closed.closing is not None and closed.closing[0] == CLOSE_AUTH
        assert [f["type"] for f in frames(closed)] == ["close"]
    assert carol.closing is None and [f["event"] for f in frames(carol)] == ["added"]


def test_accounts_of_another_container_or_configured_users_are_left(hub: Hub) -> None:
    here, configured = conn("alice", groups=("staff",)), conn("alice", container=None)
    joined(hub, here, configured)
    hub.deliver(changed(account("alice", active=False), container="/db/other"))
    hub.deliver(changed(account("alice", active=False)))
    assert here.closing is not None
    assert configured.closing is None


def test_a_replay_is_judged_with_the_accounts_as_they_are_now(hub: Hub) -> None:
    alice = conn("alice", groups=("staff",))
    joined(hub, alice)
    backlog = hub.bus.backlogs["db"]
    backlog.append(batch(101, event(f"{SITE}/public")))
    backlog.append(batch(102, event(f"{SITE}/f", allowed=(STAFF,))))
    sub = next(iter(alice.subscriptions.values()))
    assert len(hub.replay(sub, "db", cursor(101))[0]) == 1  # a member of staff
    hub.deliver(changed(account("alice")))
    assert hub.replay(sub, "db", cursor(101)) == ([], False)


async def test_a_socket_catches_up_on_changes_during_its_handshake(hub: Hub) -> None:
    mark = hub.mark()  # the handshake begins, then reads alice as a member of staff
    hub.deliver(changed(account("alice")))  # committed after that read
    alice = conn("alice", groups=("staff",))
    hub.add(alice, mark)
    assert alice.principal.groups == frozenset() and alice.closing is None
    revoked = conn("alice", token_id="t1")
    mark = hub.mark()
    hub.deliver(RevokedMessage(db="db", token_id="t1"))
    hub.add(revoked, mark)
    assert revoked.closing is not None and revoked.closing[0] == CLOSE_AUTH
    for c in (alice, revoked):
        hub.remove(c)
        await c.drain()


async def test_a_socket_that_missed_more_than_the_hub_keeps_is_closed(hub: Hub) -> None:
    mark = hub.mark()
    for who in ("bob", "carol", "dave"):  # the hub keeps two
        hub.deliver(changed(account(who)))
    alice = conn("alice")
    hub.add(alice, mark)
    assert alice.closing is not None and alice.closing[0] == CLOSE_AUTH
    hub.remove(alice)
    await alice.drain()
