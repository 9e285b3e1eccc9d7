"""HTTP/1.1, cleartext HTTP/2 (prior knowledge) and HTTPS with ALPN h2, on one real port."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import httpx
import pytest

pytestmark = pytest.mark.server

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl CLI")


def curl(*args: str) -> tuple[int, str, Any]:
    """``curl ARGS`` → (status, HTTP version as curl names it, JSON body or None)."""
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "20", "-w", "\n%{http_code} %{http_version}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"curl {args} failed ({done.returncode}): {done.stderr}"
    body, _, trailer = done.stdout.rpartition("\n")
    status, version = trailer.split()
    return int(status), version, json.loads(body) if body else None


def h2c_exchange(
    port: int, requests: list[tuple[str, str, dict[str, str], bytes]]
) -> list[tuple[int, dict[str, str], bytes]]:
    """Send every request as a concurrent stream on one h2c (prior knowledge) connection.

    Returns (status, headers, body) per request, in the order given.
    """
    conn = h2.connection.H2Connection(
        config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    )
    authority = f"127.0.0.1:{port}"
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        conn.initiate_connection()
        order = []
        for method, path, headers, body in requests:
            stream = conn.get_next_available_stream_id()
            order.append(stream)
            pseudo = [(":method", method), (":path", path), (":scheme", "http")]
            all_headers = [*pseudo, (":authority", authority), *headers.items()]
            if body:
                all_headers.append(("content-length", str(len(body))))
            conn.send_headers(stream, all_headers, end_stream=not body)
            if body:
                conn.send_data(stream, body, end_stream=True)
        sock.sendall(conn.data_to_send())

        statuses: dict[int, int] = {}
        heads: dict[int, dict[str, str]] = {}
        bodies: dict[int, bytearray] = {s: bytearray() for s in order}
        pending = set(order)
        while pending:
            data = sock.recv(65536)
            assert data, f"the server closed the connection; streams {pending} unanswered"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    head = dict(event.headers)
                    statuses[event.stream_id] = int(head.pop(":status"))
                    heads[event.stream_id] = head
                elif isinstance(event, h2.events.DataReceived):
                    bodies[event.stream_id] += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    pending.discard(event.stream_id)
                elif isinstance(event, h2.events.StreamReset):
                    pytest.fail(f"stream {event.stream_id} reset: {event.error_code!r}")
            sock.sendall(conn.data_to_send())
        conn.close_connection()
        sock.sendall(conn.data_to_send())
    return [(statuses[s], heads[s], bytes(bodies[s])) for s in order]


@needs_curl
def test_http1_and_h2c_on_the_same_port(server, servers) -> None:
    url = server.url + "/"
    status1, version1, body1 = curl("--http1.1", url)
    status2, version2, body2 = curl("--http2-prior-knowledge", url)
    assert (status1, version1) == (200, "1.1")
    assert (status2, version2) == (200, "2")
    assert body1 == body2
    assert body1["@type"] == "Application"
    assert body1["databases"] == [f"{server.url}/db"]

    # A write over h2c: curl with prior knowledge creates the container.
    status, version, created = curl(
        "--http2-prior-knowledge",
        "-u", f"root:{servers.root_password}",
        "-H", "Content-Type: application/json",
        "--data", json.dumps({"@type": "Container", "id": "site"}),
        f"{server.url}/db",
    )  # fmt: skip
    assert (status, version) == (201, "2")
    assert created["@id"] == f"{server.url}/db/site"


def test_h2c_multiplexed_writes(server, servers) -> None:
    with server.root_client() as client:
        assert client.post("/db", json={"@type": "Container", "id": "site"}).status_code == 201
    credentials = base64.b64encode(f"root:{servers.root_password}".encode()).decode()
    headers = {"authorization": f"Basic {credentials}", "content-type": "application/json"}
    ids = [f"h2-{n}" for n in range(10)]
    requests = [
        ("POST", "/db/site", headers, json.dumps({"@type": "Document", "id": i}).encode())
        for i in ids
    ]
    requests.append(("GET", "/", {}, b""))
    answers = h2c_exchange(server.port, requests)

    etags = {}
    for doc_id, (status, head, body) in zip(ids, answers, strict=False):
        assert status == 201, body
        data = json.loads(body)
        assert data["id"] == doc_id
        assert head["location"] == f"{server.url}/db/site/{doc_id}"
        assert int(head["content-length"]) == len(body)
        etags[doc_id] = head["etag"]
    status, _, body = answers[-1]
    assert status == 200
    assert json.loads(body)["@type"] == "Application"

    # Committed, and the same representation (and ETag) over HTTP/1.1.
    with server.root_client() as client:
        listing = client.get("/db/site", params={"b_size": 100}).json()
        assert sorted(item["id"] for item in listing["items"]) == sorted(ids)
        for doc_id in ids:
            response = client.get(f"/db/site/{doc_id}")
            assert response.http_version == "HTTP/1.1"
            assert response.status_code == 200
            assert response.headers["etag"] == etags[doc_id]


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl CLI")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(servers, tls_files):
    cert, key = tls_files
    return servers.serve(
        extra=["--certfile", str(cert), "--keyfile", str(key)],
        scheme="https",
        verify=ssl.create_default_context(cafile=str(cert)),
    )


@needs_curl
def test_tls_alpn_negotiates_h2_and_http1(tls_server) -> None:
    url = tls_server.url + "/"
    assert url.startswith("https://127.0.0.1:")
    status, version, body = curl("-k", "--http2", url)
    assert (status, version) == (200, "2")
    assert body["databases"] == [f"{tls_server.url}/db"]
    status, version, body = curl("-k", "--http1.1", url)
    assert (status, version) == (200, "1.1")
    assert body["@id"] == url


def test_tls_h2_write_with_a_verified_certificate(tls_server, servers) -> None:
    with tls_server.root_client(http2=True) as client:
        response = client.post("/db", json={"@type": "Container", "id": "site"})
        assert response.http_version == "HTTP/2"
        assert response.status_code == 201
        # The scheme reaches the app: URLs in the body are https.
        assert response.json()["@id"] == f"{tls_server.url}/db/site"
        assert response.headers["location"] == f"{tls_server.url}/db/site"
        response = client.post("/db/site", json={"@type": "Document", "id": "d1", "title": "x"})
        assert response.status_code == 201
    with tls_server.root_client() as client:
        response = client.get("/db/site/d1")
        assert response.http_version == "HTTP/1.1"
        assert response.status_code == 200
        assert response.json()["title"] == "x"
    # Plain HTTP on the TLS port is refused, not answered in clear.
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{tls_server.port}/", timeout=5).raise_for_status()
