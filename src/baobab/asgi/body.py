"""Request bodies: whether to read one before publishing, reading it into memory (capped),
streaming it to disk when its service asks, and removing what no commit consumed.

Which way a body goes is declared by its service (``@service(body=...)``, see
:data:`baobab.config.declarations.BODY_MODES`). Before traversal the pipeline knows the method
and the view name, so it asks the registry how the services of that name take their body:
a body that may stream is left unread (its service asks for it once its checks are done),
every other body is read into memory now, under ``request.max_body_size``.

Every body is read under a clock (:func:`timed`): no part of it for ``request.body_timeout``
seconds is a 408, and so is an in-memory body that takes longer than
``request.memory_body_timeout`` altogether, however it trickles in. A body that ends early
(``http.disconnect``: the client left, or the server gave up on a malformed chunked encoding)
is a 400 ``IncompleteBody``, answered in case the connection still carries it.
"""

from __future__ import annotations

import asyncio

from baobab.asgi.state import AppState
from baobab.blobs.multipart import boundary_of, spool_form
from baobab.blobs.spool import Spooled, spool_body, stream_body, too_large
from baobab.config.registry import Registry
from baobab.config.settings import RequestSettings
from baobab.errors import BadRequest, RequestTimeout
from baobab.inputs import non_negative
from baobab.request import Request, StreamBody, is_file
from baobab.telemetry.metrics import instruments
from baobab.types import Message, Receive

__all__ = ["BODYLESS", "read_body", "read_later", "read_now", "release", "spool", "timed"]

BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


def read_later(registry: Registry, method: str, view: str, headers: dict[str, str]) -> bool:
    """Whether to leave the body unread for a service that streams it."""
    if method in BODYLESS:
        return False
    modes = registry.body_modes(method, view)
    return "stream" in modes or ("negotiate" in modes and is_file(headers))


def timed(receive: Receive, idle: float) -> Receive:
    """``receive`` for a request body: 408 when the next message takes over ``idle`` seconds
    (a stalled client must not hold a connection, a worker's memory or a spool file)."""

    async def receive_in_time() -> Message:
        try:
            async with asyncio.timeout(idle):
                return await receive()
        except TimeoutError:
            raise RequestTimeout(
                f"No part of the request body arrived for {idle:g} seconds",
                details={"timeout": idle},
            ) from None

    return receive_in_time


async def read_body(receive: Receive, headers: dict[str, str], settings: RequestSettings) -> bytes:
    """The whole body, in memory: 413 past ``max_body_size`` (from Content-Length, or as it
    comes); 408 if a part takes over ``body_timeout`` seconds to come or the whole over
    ``memory_body_timeout``. One timer for both, moved as parts arrive (a timer per
    ``receive``, as :func:`timed` sets, costs more than the rest of reading a small body)."""
    limit, total, idle = settings.max_body_size, settings.memory_body_timeout, settings.body_timeout
    declared = _declared_length(headers)
    if declared is not None and declared > limit:
        raise too_large(limit, declared)
    chunks: list[bytes] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + total
    try:
        async with asyncio.timeout_at(min(end, loop.time() + idle)) as timer:

            def keep(chunk: bytes) -> None:
                chunks.append(chunk)
                timer.reschedule(min(end, loop.time() + idle))

            await stream_body(receive, keep, limit)
            return b"".join(chunks)
    except TimeoutError:
        if loop.time() < end:
            raise RequestTimeout(
                f"No part of the request body arrived for {idle:g} seconds",
                details={"timeout": idle},
            ) from None
        raise RequestTimeout(
            f"The request body took longer than {total:g} seconds", details={"timeout": total}
        ) from None


def _declared_length(headers: dict[str, str]) -> int | None:
    raw = headers.get("content-length")
    return None if raw is None else non_negative(raw, "Content-Length")


def _pending(request: Request) -> None:
    """The body can be taken once, and only if it was left unread: anything else is a bug."""
    if not request.body_pending:
        raise RuntimeError(f"{request.path}: the body was read already, or asked for twice")


async def spool(state: AppState, request: Request, receive: Receive, needed: StreamBody) -> None:
    """Stream the body to disk for the service that asked."""
    _pending(request)
    files = state.settings.files
    limit = (
        files.max_upload_size if needed.limit is None else min(needed.limit, files.max_upload_size)
    )
    directory = state.settings.spool_path
    declared = _declared_length(request.headers)
    if needed.form:
        boundary = boundary_of(request.headers.get("content-type", ""))
        if boundary is None:
            raise BadRequest("Send the form as multipart/form-data")
        request.form_data = await spool_form(
            receive,
            directory,
            boundary=boundary,
            limit=limit,
            form_limit=files.max_form_size,
            declared=declared,
            checksum=needed.checksum,
        )
        instruments().upload_bytes.inc(
            sum(f.spooled.size for f in request.form_data.files.values())
        )
        return
    request.spooled = await spool_body(
        receive,
        directory,
        limit=limit,
        declared=declared,
        checksum=needed.checksum,
        keep_partial=needed.keep_partial,
    )
    instruments().upload_bytes.inc(request.spooled.size)


async def read_now(state: AppState, request: Request, receive: Receive) -> None:
    """Read a body left unread into memory, for a service that takes it as JSON."""
    _pending(request)
    request.body = await read_body(receive, request.headers, state.settings.request)
    request.streamed = False


def release(request: Request) -> None:
    """Remove what the request spooled and no commit consumed."""
    if request.spooled is not None:
        request.spooled.release()
    if request.form_data is not None:
        request.form_data.release()
    for value in request.offloaded.values():  # files joined off the loop (TUS)
        if isinstance(value, Spooled):
            value.release()
