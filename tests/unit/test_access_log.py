"""The JSON request lines (``server.log_format: "json"``): valid JSON whatever the client
sent, whole lines in writes of at most ``PIPE_BUF`` bytes (atomic on a pipe)."""

from __future__ import annotations

import json
import os
import re

import pytest

from baobab.telemetry.logs import AccessLog

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def test_lines_are_json_whatever_the_path() -> None:
    read, write = os.pipe()
    log = AccessLog(write)
    hostile = ['/a"b\\c', "/é/\u2028/\x01", "/" + "x" * 5000]
    for n, path in enumerate(hostile):
        log.write(
            method="GET",
            path=path,
            status=200 + n,
            seconds=0.0012345,
            principal=None if n else 'ro"ot',
            request_id=f"id-{n}",
            replays=n,
            view="@search" if n else "",
        )
    log.flush()
    os.close(write)
    chunks = []
    while chunk := os.read(read, 1 << 16):
        chunks.append(chunk)
    os.close(read)
    lines = [json.loads(line) for line in b"".join(chunks).splitlines()]
    assert [line["path"] for line in lines] == hostile
    first = lines[0]
    assert TIME.fullmatch(first.pop("time"))
    assert first == {
        "type": "access",
        "method": "GET",
        "path": '/a"b\\c',
        "view": "",
        "status": 200,
        "duration_ms": 1.234,
        "principal": 'ro"ot',
        "request_id": "id-0",
        "conflicts": 0,
        "pid": os.getpid(),
    }
    assert lines[1]["principal"] is None and lines[1]["view"] == "@search"


async def test_writes_are_whole_lines_under_pipe_buf(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    read, write = os.pipe()
    log = AccessLog(write)
    real = os.write

    def counting(fd: int, data: bytes | memoryview) -> int:
        sizes.append(len(data))
        return real(fd, data)

    monkeypatch.setattr(os, "write", counting)  # to see the system calls
    for n in range(100):
        log.write(
            method="GET", path=f"/db/site/doc-{n}", status=200, seconds=0.001,
            principal="root", request_id=f"{n:032x}", replays=0, view="",
        )  # fmt: skip
    log.flush()
    monkeypatch.undo()
    os.close(write)
    data = b""
    while chunk := os.read(read, 1 << 16):
        data += chunk
    os.close(read)
    assert len(data.splitlines()) == 100
    assert len(sizes) > 1 and all(size <= 4096 for size in sizes), sizes
