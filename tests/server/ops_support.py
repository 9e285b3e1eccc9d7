"""Helpers of the pack and backup server tests: a writer that keeps a server busy with
documents and file uploads and remembers what the server acknowledged, and when; and the check
that a server holds those writes, field by field and byte for byte."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

SITE = "/db/site"


@dataclass(frozen=True)
class Ack:
    """One acknowledged write: a document (``sha256`` None) or a file."""

    id: str
    title: str
    description: str
    sha256: str | None
    at: float  # time.monotonic() when the answer arrived


def upload_file(client: httpx.Client, name: str, data: bytes) -> httpx.Response:
    return client.post(
        SITE,
        content=data,
        headers={
            "content-type": "application/octet-stream",
            "content-disposition": f'attachment; filename="{name}"',
        },
    )


@dataclass
class Writer:
    """POSTs documents (``files=False``) or files until stopped; every 201 is an :class:`Ack`."""

    client: httpx.Client
    prefix: str
    files: bool = False
    acks: list[Ack] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> Writer:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(60)
        self.client.close()

    def acked_before(self, moment: float) -> list[Ack]:
        return [a for a in list(self.acks) if a.at < moment]

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                ack = self._write(f"{self.prefix}-{n}", n)
            except (httpx.HTTPError, AssertionError) as exc:
                self.bad.append(f"{self.prefix}-{n}: {exc!r}")
            else:
                if ack is not None:
                    self.acks.append(ack)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """The answer; None for a 409 (the write kept conflicting with the other writer's
        in the same folder, and the server said so: nothing promised, nothing to check)."""
        resp = self.client.request(method, path, **kwargs)
        return None if resp.status_code == 409 else resp

    def _write(self, id_: str, n: int) -> Ack | None:
        description = f"written by {self.prefix} as number {n}"
        if not self.files:
            body = {"@type": "Document", "id": id_, "title": id_, "description": description}
            resp = self._send("POST", SITE, json=body)
            if resp is None:
                return None
            assert resp.status_code == 201, resp.text
            return Ack(id_, id_, description, None, time.monotonic())
        data = os.urandom(1000 + (n * 7919) % 60000)
        resp = upload_file(self.client, f"{id_}.bin", data)
        if resp.status_code == 409:
            return None
        assert resp.status_code == 201, resp.text
        file_id = resp.json()["id"]
        change = {"title": id_, "description": description}
        while (patched := self._send("PATCH", f"{SITE}/{file_id}", json=change)) is None:
            continue
        assert patched.status_code == 204, patched.text
        sha = hashlib.sha256(data).hexdigest()
        return Ack(file_id, id_, description, sha, time.monotonic())


def wait_for(writers: list[Writer], each: int, timeout: float = 120.0) -> None:
    """Until every writer has ``each`` more acknowledged writes than now."""
    targets = [len(w.acks) + each for w in writers]
    deadline = time.monotonic() + timeout
    while any(len(w.acks) < t for w, t in zip(writers, targets, strict=True)):
        assert time.monotonic() < deadline, [w.bad[-3:] for w in writers]
        time.sleep(0.05)


def missing_or_wrong(client: httpx.Client, acks: list[Ack]) -> list[str]:
    """What of ``acks`` the server does not hold as written (empty: everything is there)."""
    problems = []
    for ack in acks:
        resp = client.get(f"{SITE}/{ack.id}")
        if resp.status_code != 200:
            problems.append(f"{ack.id}: {resp.status_code}")
            continue
        data = resp.json()
        if (data.get("title"), data.get("description")) != (ack.title, ack.description):
            problems.append(f"{ack.id}: {data.get('title')!r}, {data.get('description')!r}")
        if ack.sha256 is None:
            continue
        download = client.get(f"{SITE}/{ack.id}/@download/file")
        digest = hashlib.sha256(download.content).hexdigest()
        if download.status_code != 200 or digest != ack.sha256:
            problems.append(f"{ack.id}: file {download.status_code} sha256 {digest}")
    return problems
