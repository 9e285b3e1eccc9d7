"""The live-push machinery of one process: its bus and its hub, started and stopped together."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from baobab.config.settings import Settings
from baobab.events import Event, ObjectEvent, PrincipalsChanged, TokenRevoked
from baobab.live.bus import Bus, make_bus
from baobab.live.hub import CLOSE_GOING_AWAY, Hub
from baobab.live.wire import PrincipalsMessage, RevokedMessage, batch_of

__all__ = ["Live"]

logger = logging.getLogger(__name__)

_SETTLE_TIMEOUT = 5.0  # seconds a request that changed accounts waits for the bus at most


class Live:
    def __init__(self, settings: Settings, system: str, last_tids: dict[str, int]) -> None:
        self.settings = settings.live
        self.last_tids = last_tids
        self.system = system
        pubsub = settings.pubsub
        self.bus: Bus = make_bus(pubsub.redis, pubsub.prefix, settings.live.backlog)
        self.hub = Hub(self.bus)

    async def start(self) -> None:
        await self.bus.start(self.hub.deliver, self.last_tids)

    def publish(self, tid: int, events: Sequence[Event]) -> None:
        """A committed transaction's events (all in one database: a request touches one);
        a sink of :class:`~baobab.events.delivery.Delivery`. Pushes object events,
        principal changes and revoked tokens; other events are not for sockets."""
        # Principal changes first: the accounts a commit leaves judge its own events too, and
        # the bus keeps this order, so every later batch is judged with them.
        for event in events:
            if isinstance(event, PrincipalsChanged):
                db = event.container.split("/")[1]
                message = PrincipalsMessage(
                    db=db, container=event.container, ids=event.ids, accounts=event.accounts
                )
                self.bus.publish(message)
            elif isinstance(event, TokenRevoked):
                self.bus.publish(RevokedMessage(db=self.system, token_id=event.token_id))
        objects = [e for e in events if isinstance(e, ObjectEvent)]
        if objects:
            db = objects[0].path.split("/")[1]
            self.bus.publish(batch_of(db, tid, objects))

    async def settle(self, events: Sequence[Event]) -> None:
        """After :meth:`publish`: when ``events`` change accounts (a principal change, a
        logout), wait until the bus holds them in the order every process delivers (a few
        milliseconds with Redis; at once in one process), so that whatever the client does
        next is ordered after them everywhere. Bounded: an unreachable Redis is logged, not
        waited for."""
        if not any(isinstance(e, PrincipalsChanged | TokenRevoked) for e in events):
            return
        if not await self.bus.written(_SETTLE_TIMEOUT):
            logger.warning("live: an account change is not yet on the bus; answering anyway")

    async def close(self) -> None:
        await self.hub.close_all(CLOSE_GOING_AWAY, "server shutting down")
        await self.bus.close()
