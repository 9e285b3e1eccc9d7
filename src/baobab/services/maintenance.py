"""``POST /{db}/@pack``: pack a database while the server keeps serving (Manager only).

A pack takes as long as the storage is large (it copies a FileStorage file, or walks every
object of a PostgreSQL database), so it must neither hold the event loop (where inline mode
publishes every request) nor a database worker. It runs through ``request.offload``: the
publish step stops, the pipeline runs the pack on a thread of the default executor while the
loop serves everyone else, and publishes the request again to answer with the figures. The
pack opens its own connections and transactions (the expired uploads it drops), so it
needs nothing of the request's aborted attempt. Offload rather than a thread of this
module's own: the pipeline already owns that path (waiting, errors mapped to the envelope,
a client that leaves), and a pack is one long job, not a pool's worth.
"""

from __future__ import annotations

import logging

import msgspec

from baobab.config.declarations import service
from baobab.content.interfaces import IDatabaseRoot
from baobab.errors import ValidationError
from baobab.maintenance.pack import PackResult, pack
from baobab.request import Request, Response, json_response
from baobab.security.vocabulary import MANAGE_DATABASE

__all__ = ["pack_database"]

logger = logging.getLogger(__name__)

MAX_DAYS = 36500  # a century: beyond, ``time.time() - days * 86400`` is no date at all


class PackRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The optional body: keep the revisions of the last ``days`` days (FileStorage)."""

    days: float = 0


class PackFigures(msgspec.Struct):
    """What the pack did; ``reclaimed`` is ``bytes_before - bytes_after``. ``before`` and
    ``after`` break the bytes down per backend (docs/backup.md)."""

    database: str
    storage: str
    days: float
    bytes_before: int
    bytes_after: int
    reclaimed: int
    before: dict[str, int | None]
    after: dict[str, int | None]
    uploads_expired: int
    spool_files_removed: int
    seconds: float


def _days(request: Request) -> float:
    """The body's ``days`` (0 without a body): a number of days, at least 0."""
    if not request.body:
        return 0.0
    data = request.json_object()
    unknown = sorted(set(data) - {"days"})
    if unknown:
        raise ValidationError(
            "Unknown keys: " + ", ".join(unknown),
            details=[{"field": k, "message": "is not accepted here"} for k in unknown],
        )
    days = data.get("days", 0)
    if isinstance(days, bool) or not isinstance(days, int | float) or not 0 <= days <= MAX_DAYS:
        raise ValidationError(
            f"`days` must be a number from 0 to {MAX_DAYS}",
            details=[{"field": "days", "message": f"must be a number from 0 to {MAX_DAYS}"}],
        )
    return float(days)


@service(
    method="POST",
    context=IDatabaseRoot,
    name="@pack",
    permission=MANAGE_DATABASE.id,
    summary="Pack the database: old revisions, unreachable objects, their blobs",
    description="Removes revisions older than `days` (FileStorage), objects no longer "
    "reachable and their files (with expired resumable uploads), while the server keeps "
    "serving and writing; answers with the space reclaimed. One pack per database at a time "
    "in a process (409 while one runs).",
    request=PackRequest,
    responses={200: PackFigures},
    errors=(409,),
)
def pack_database(request: Request) -> Response:
    days = _days(request)
    db = request.unit.conn.db()
    name: str = db.database_name
    settings = request.settings

    def run() -> PackResult:
        return pack(settings, name, db, days=days, report=logger.info)

    result: PackResult = request.offload(("pack", name), run)
    logger.info("%s: packed in %.1f s, %d bytes reclaimed", name, result.seconds, result.reclaimed)
    response = json_response(result.as_json(), headers={"Cache-Control": "no-store"})
    response.commit = False  # the pack committed its own transactions; this one has nothing
    return response
