"""WSGI apps for ``bench/files.py``'s waitress rows: one file, the ways Plone-era code sent it.

``GET /file`` answers the file named by ``BENCH_FILE``; ``GET /json`` a tiny JSON body.

* ``chunks`` yields 64 KiB reads of the open file: the naive blob iterator, which keeps
  the worker thread busy until the last chunk is handed to the server (waitress blocks it
  while its output buffers are above their high-water mark, so with one thread every other
  request waits behind the downloads);
* ``file_wrapper`` returns ``environ["wsgi.file_wrapper"](file)``: waitress then sends the
  file from its main (asyncore) thread and frees the worker at once.

Served by ``waitress-serve --threads=1 waitress_file:chunks`` (or ``:file_wrapper``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

PATH = os.environ["BENCH_FILE"]
SIZE = os.path.getsize(PATH)
CHUNK = 64 * 1024
JSON = b'{"ok": true}'

StartResponse = Callable[..., Any]
FILE_HEADERS = [("Content-Type", "application/octet-stream"), ("Content-Length", str(SIZE))]


def _read_chunks(file: IO[bytes]) -> Iterator[bytes]:
    with file:
        while chunk := file.read(CHUNK):
            yield chunk


def _json(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ["PATH_INFO"] != "/json":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(JSON)))]
    )
    return [JSON]


def chunks(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ["PATH_INFO"] != "/file":
        return _json(environ, start_response)
    start_response("200 OK", FILE_HEADERS)
    return _read_chunks(open(PATH, "rb"))  # closed by the generator


def file_wrapper(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ["PATH_INFO"] != "/file":
        return _json(environ, start_response)
    start_response("200 OK", FILE_HEADERS)
    wrapper: Callable[[IO[bytes], int], Iterable[bytes]] = environ["wsgi.file_wrapper"]
    return wrapper(open(PATH, "rb"), CHUNK)  # closed by the server
