"""Crash and shutdown: acknowledged writes survive SIGKILL; SIGTERM drains and closes cleanly."""

from __future__ import annotations

import base64
import json
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest

from baobab.testing import content_call, send_sync

pytestmark = pytest.mark.server

# How much writing to see before pulling the plug: enough to be in the middle of a stream.
MIN_ACKNOWLEDGED = 100
MIN_WRITE_SECONDS = 1.0
WRITE_PHASE_LIMIT = 60.0


@dataclass
class Writer:
    """A client that POSTs documents as fast as it can until the server goes away."""

    client: httpx.Client
    prefix: str
    attempted: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    bad: list[str] = field(default_factory=list)  # answers that were not a valid 201
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def run(self) -> None:
        n = 0
        try:
            while not self.stop.is_set():
                doc_id = f"{self.prefix}-{n}"
                n += 1
                self.attempted.add(doc_id)
                body = {"@type": "Document", "id": doc_id, "title": doc_id}
                try:
                    response = self.client.post("/db/site", json=body)
                except httpx.TransportError as exc:
                    self.error = exc  # the server went away: no answer, nothing promised
                    return
                if response.status_code != 201:
                    self.bad.append(f"{doc_id}: {response.status_code} {response.text[:200]}")
                    continue
                data = response.json()  # a complete body, or this raises
                if data.get("id") != doc_id or data.get("title") != doc_id:
                    self.bad.append(f"{doc_id}: wrong body {data!r}")
                    continue
                self.acknowledged.add(doc_id)
        except BaseException as exc:  # surfaced by the test, never lost in the thread
            self.error = exc
            self.bad.append(f"unexpected {exc!r}")


def start_writers(server, count: int) -> tuple[list[Writer], list[threading.Thread]]:
    writers = [Writer(server.root_client(), f"w{i}") for i in range(count)]
    for writer in writers:  # open every keep-alive connection before the stream starts
        assert writer.client.get("/").status_code == 200
    threads = [threading.Thread(target=w.run, daemon=True) for w in writers]
    for thread in threads:
        thread.start()
    return writers, threads


def wait_for_acknowledged(writers: list[Writer], server) -> None:
    started = time.monotonic()
    while True:
        done = sum(len(w.acknowledged) for w in writers)
        elapsed = time.monotonic() - started
        if done >= MIN_ACKNOWLEDGED and elapsed >= MIN_WRITE_SECONDS:
            return
        problems = [p for w in writers for p in w.bad]
        assert not problems, problems[:5]
        if not server.running() or all(w.error for w in writers):
            pytest.fail(f"writers stopped early: {[w.error for w in writers]!r}")
        if elapsed > WRITE_PHASE_LIMIT:
            pytest.fail(f"only {done} writes acknowledged in {elapsed:.0f} s")
        time.sleep(0.05)


def finish_writers(writers: list[Writer], threads: list[threading.Thread]) -> None:
    for writer in writers:
        writer.stop.set()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), "a writer hung after the server went away"
    for writer in writers:
        writer.client.close()


def stored_ids(server) -> set[str]:
    """Every id in /db/site, following the batching links."""
    ids: set[str] = set()
    with server.root_client() as client:
        url: str | None = "/db/site?b_size=1000"
        total = None
        while url:
            response = client.get(url)
            assert response.status_code == 200, response.text
            data = response.json()
            total = data["items_total"]
            ids.update(item["id"] for item in data["items"])
            url = data.get("batching", {}).get("next")
    assert len(ids) == total
    return ids


def create_site(server) -> None:
    with server.root_client() as client:
        send_sync(client, content_call("/db", "Container", "site"))


def test_sigkill_mid_stream_keeps_every_acknowledged_write(servers) -> None:
    config = servers.config()
    server = servers.serve(config)
    create_site(server)
    members = server.group_members()
    assert server.pid in members
    assert len(members) >= 2, f"expected Granian's worker in the group: {members}"

    writers, threads = start_writers(server, count=2)
    wait_for_acknowledged(writers, server)
    server.kill_group()  # SIGKILL to the server and its worker at once
    assert server.proc.returncode == -signal.SIGKILL
    finish_writers(writers, threads)
    assert server.group_members() == []
    # A crash leaves FileStorage's index behind the data file (the check the SIGTERM test
    # relies on tells the two apart).
    assert not servers.index_saved_at_end()

    acknowledged = set().union(*(w.acknowledged for w in writers))
    attempted = set().union(*(w.attempted for w in writers))
    assert not [p for w in writers for p in w.bad]
    assert len(acknowledged) >= MIN_ACKNOWLEDGED

    restarted = servers.serve(config)
    present = stored_ids(restarted)
    missing = acknowledged - present
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {sorted(missing)[:5]}"
    # Nothing appears that was never sent (at most the in-flight ones beyond the acknowledged).
    assert present <= attempted

    with restarted.root_client() as client:
        sample = sorted(acknowledged)[:: max(1, len(acknowledged) // 20)]
        for doc_id in sample:
            response = client.get(f"/db/site/{doc_id}")
            assert response.status_code == 200
            assert response.json()["title"] == doc_id
        # The database takes writes again, and a write after the crash is kept.
        response = client.post("/db/site", json={"@type": "Document", "id": "after-crash"})
        assert response.status_code == 201, response.text
        response = client.patch(f"/db/site/{sample[0]}", json={"title": "changed"})
        assert response.status_code == 204, response.text
        assert client.get(f"/db/site/{sample[0]}").json()["title"] == "changed"
    assert restarted.terminate() == 0
    assert servers.index_saved_at_end()


def _read_http_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One complete HTTP/1.1 response (with Content-Length) from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response head: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-body: {len(body)} of {length} bytes"
        body += chunk
    return status, headers, body


def test_sigterm_finishes_in_flight_requests_and_closes_the_storage(servers) -> None:
    config = servers.config()
    server = servers.serve(config)
    create_site(server)

    # A request in flight for sure: headers and half the body sent, the rest held back.
    body = json.dumps({"@type": "Document", "id": "slow", "title": "slow"}).encode()
    credentials = base64.b64encode(f"root:{servers.root_password}".encode()).decode()
    head = (
        f"POST /db/site HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Basic {credentials}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        slow.sendall(head + body[:10])
        writers, threads = start_writers(server, count=4)
        wait_for_acknowledged(writers, server)

        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        slow.sendall(body[10:])
        status, headers, payload = _read_http_response(slow)
    finally:
        slow.close()
    assert status == 201, payload
    assert json.loads(payload)["id"] == "slow"
    assert headers["location"] == f"{server.url}/db/site/slow"

    finish_writers(writers, threads)
    try:
        returncode = server.proc.wait(30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no exit within 30 s of SIGTERM\n{server.output()}")
    assert returncode == 0, server.output()
    assert server.group_members() == []

    # Every answer a client got was a complete, valid 201 (Writer checks each body).
    assert not [p for w in writers for p in w.bad]
    acknowledged = set().union(*(w.acknowledged for w in writers)) | {"slow"}
    attempted = set().union(*(w.attempted for w in writers)) | {"slow"}

    assert "databases closed" in server.stderr()
    # FileStorage saved its index at the end of the data file: it was closed, not dropped.
    assert servers.index_saved_at_end()

    restarted = servers.serve(config)
    present = stored_ids(restarted)
    assert acknowledged <= present, sorted(acknowledged - present)[:5]
    assert present <= attempted
    log = restarted.stderr()
    assert not re.search(r"Ignoring index|truncated|loading index|WARNING|ERROR", log), log
