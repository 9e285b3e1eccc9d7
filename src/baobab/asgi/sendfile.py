"""Sending a file response once the database is released: by ``http.response.pathsend`` when
the server offers it (the server reads the file, no Python in the loop), else in chunks."""

from __future__ import annotations

import asyncio
import os

from baobab.request import FileBody
from baobab.types import Receive, Scope, Send

__all__ = ["PATHSEND", "send_file"]

PATHSEND = "http.response.pathsend"


async def send_file(
    send: Send, file: FileBody, scope: Scope, chunk: int, receive: Receive | None
) -> None:
    """The whole file by pathsend if offered; else ``chunk`` bytes at a time, each read in the
    default executor so a cold disk never stalls the loop and no thread is held between
    reads; stopped when the client leaves (some servers' ``send`` keeps accepting bytes for a
    closed connection)."""
    if file.whole and PATHSEND in (scope.get("extensions") or {}):
        await send({"type": PATHSEND, "path": file.path})
        return
    if file.length == 0:
        await send({"type": "http.response.body", "body": b""})
        return
    gone = asyncio.ensure_future(_disconnect(receive)) if receive is not None else None
    loop = asyncio.get_running_loop()
    fd = await loop.run_in_executor(None, os.open, file.path, os.O_RDONLY)
    try:
        offset, left = file.start, file.length
        while left > 0 and not (gone is not None and gone.done()):
            data = await loop.run_in_executor(None, os.pread, fd, min(chunk, left), offset)
            if not data:  # the file shrank under us: never send less than announced silently
                raise OSError(f"{file.path}: ends before the announced length")
            offset += len(data)
            left -= len(data)
            await send({"type": "http.response.body", "body": data, "more_body": left > 0})
    finally:
        os.close(fd)
        if gone is not None:
            gone.cancel()


async def _disconnect(receive: Receive) -> None:
    """Return once the client has gone away."""
    while (await receive())["type"] != "http.disconnect":
        pass
