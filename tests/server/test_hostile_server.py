"""Hostile input against a real ``baobab serve`` (issue 12, finding 6 and the body timeout of 8).

Requests go over raw sockets, so nothing is normalised on the way: non-ASCII header bytes,
broken chunked bodies, absurd numbers, bodies that stall. Whatever comes in, the answer is
never a 5xx, every body is the one error envelope as JSON, and the server logs no traceback.
WebSocket faults are tried with a real WebSocket client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import select
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from baobab.testing import content_call, send_sync
from baobab.testing.server import HOST, JWT_SECRET, ROOT_PASSWORD, ServerProcess, Servers

pytestmark = pytest.mark.server

TIMEOUT = 20.0  # seconds a socket waits for an answer (a bound, not an expectation)
BASIC = b"Basic " + base64.b64encode(f"root:{ROOT_PASSWORD}".encode())
ENVELOPE = {"type", "message", "details", "request_id"}  # an HTTP answer's
FRAME_ENVELOPE = {"type", "message", "details"}  # in a WebSocket error frame
SITE = "/db/site"
DATA = bytes(range(256)) * 8


@dataclass
class Answer:
    status: int | None  # None: the server closed without answering
    headers: dict[str, str]
    body: bytes


def _read_answer(sock: socket.socket) -> Answer:
    raw = b""
    while b"\r\n\r\n" not in raw:
        chunk = sock.recv(65536)
        if not chunk:
            return Answer(None, {}, raw)
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Answer(status, headers, body[:length])


def raw_request(server: ServerProcess, data: bytes, *, then: bytes = b"") -> Answer:
    """Send ``data`` (and ``then``) on a new connection, keep it open and send nothing more;
    the server's answer."""
    with socket.create_connection((HOST, server.port), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        if then:
            sock.sendall(then)
        try:
            return _read_answer(sock)
        except ConnectionResetError:
            return Answer(None, {}, b"")


def request(
    method: str,
    target: str,
    headers: dict[str, bytes | str] | None = None,
    body: bytes = b"",
    *,
    auth: bool = True,
    length: bool = True,
) -> bytes:
    """An HTTP/1.1 request, bytes as given (``Connection: close``)."""
    lines = [f"{method} {target} HTTP/1.1".encode("latin-1"), b"Host: " + HOST.encode()]
    if auth:
        lines.append(b"Authorization: " + BASIC)
    for name, value in (headers or {}).items():
        raw = value if isinstance(value, bytes) else value.encode("latin-1")
        lines.append(name.encode("latin-1") + b": " + raw)
    if length and body:
        lines.append(f"Content-Length: {len(body)}".encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def assert_clean(answer: Answer, what: object) -> None:
    """No 5xx; a body, if any, is the error envelope (errors) as JSON."""
    assert answer.status is None or answer.status < 500, (what, answer)
    if answer.status is not None and answer.status >= 400 and answer.body:
        assert answer.headers.get("content-type") == "application/json", (what, answer)
        assert set(json.loads(answer.body)) == ENVELOPE, (what, answer)


def assert_no_traceback(server: ServerProcess) -> None:
    log = server.stderr() + server.stdout()
    assert "Traceback" not in log, log
    assert "unhandled error" not in log, log


@pytest.fixture(scope="module")
def server(module_servers: Servers) -> Iterator[ServerProcess]:
    """A server with a site, a file in it and a TUS upload under way."""
    srv = module_servers.serve()
    with srv.root_client() as root:
        send_sync(root, content_call("/db", "Container", "site", title="Site"))
        resp = root.post(
            SITE,
            content=DATA,
            headers={
                "content-type": "application/octet-stream",
                "content-disposition": 'attachment; filename="data.bin"',
            },
            params={"id": "file"},
        )
        assert resp.status_code == 201, resp.text
    yield srv
    assert_no_traceback(srv)


@pytest.fixture(scope="module")
def tus_upload(server: ServerProcess) -> str:
    with server.root_client() as root:
        resp = root.post(
            f"{SITE}/@tus",
            headers={"tus-resumable": "1.0.0", "upload-length": "100"},
        )
        assert resp.status_code == 201, resp.text
        return str(httpx.URL(resp.headers["location"]).path)


# --- numbers ---------------------------------------------------------------------------

# what str.isdigit() or int() take and HTTP does not (1*DIGIT, ASCII)
ODD_NUMBERS = [
    b"\xb2",  # '²' as the header decodes it (latin-1): isdigit() yes, int() no
    b"1\xb9",  # '1¹'
    "\u00b2".encode(),  # '²' in UTF-8
    "\u0661\u0662\u0663".encode(),  # Arabic-Indic digits, as UTF-8 bytes
    "\u0661\u0662\u0663".encode("latin-1", "replace"),
    b"\xd9\xa1",
    b"9" * 5000,
    b"+5",
    b"-1",
    b"5 5",
    b"1_0",
    b"0x10",
    b"",
]


@pytest.mark.parametrize("value", ODD_NUMBERS)
def test_odd_upload_length_is_400(server: ServerProcess, value: bytes) -> None:
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": value}
    answer = raw_request(server, request("POST", f"{SITE}/@tus", headers))
    assert_clean(answer, value)
    assert answer.status == 400, answer
    assert json.loads(answer.body)["type"] == "BadRequest"


@pytest.mark.parametrize("value", ODD_NUMBERS)
def test_odd_upload_offset_is_400(server: ServerProcess, tus_upload: str, value: bytes) -> None:
    headers = {
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": value,
        "Content-Type": "application/offset+octet-stream",
    }
    answer = raw_request(server, request("PATCH", tus_upload, headers, b"x" * 10))
    assert_clean(answer, value)
    assert answer.status == 400, answer


@pytest.mark.parametrize("value", ODD_NUMBERS)
def test_odd_range_is_ignored_or_416(server: ServerProcess, value: bytes) -> None:
    for spec in (value + b"-", b"0-" + value, b"-" + value):
        answer = raw_request(
            server, request("GET", f"{SITE}/file/@download/file", {"Range": b"bytes=" + spec})
        )
        assert_clean(answer, spec)
        # RFC 9110: a range that does not parse is ignored (the whole file); a first byte
        # past the end (5,000 digits) is a 416 with the envelope
        assert answer.status in (200, 206, 416), (spec, answer)
        if answer.status == 200:
            assert answer.body == DATA


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0662", "9" * 5000, "+5", " 5", "1_0"])
def test_odd_batch_parameters_are_400(server: ServerProcess, value: str) -> None:
    with server.root_client() as root:
        for name in ("b_size", "b_start"):
            resp = root.get(SITE, params={name: value})
            assert resp.status_code == 400, resp.text
            assert set(resp.json()) == ENVELOPE


# --- credentials -----------------------------------------------------------------------

ODD_AUTHORIZATION = [
    b"Basic \xc3\xa9\xc3\xa9",  # non-ASCII bytes
    b"Basic \xff",
    b"Basic !!!",  # not base64
    b"Basic " + base64.b64encode(b"no-colon"),
    b"Basic " + base64.b64encode(b"\xff\xfe:\xff"),  # not UTF-8
    b"Basic " + b"A" * 6000,
    b"Bearer \xc3\xa9.\xc3\xa9.\xc3\xa9",
    b"Bearer \x01",
    b"Bearer " + b"a." * 3000,
    b"\xff\xfe",
]


@pytest.mark.parametrize("value", ODD_AUTHORIZATION)
def test_odd_authorization_is_401(server: ServerProcess, value: bytes) -> None:
    answer = raw_request(server, request("GET", SITE, {"Authorization": value}, auth=False))
    assert_clean(answer, value)
    # a value the server itself refuses as a header is its own 400 without a body
    assert answer.status in (400, 401), answer


@pytest.mark.parametrize("value", [b"auth_token=\xc3\xa9\xff", b"auth_token=" + b"x" * 5000])
def test_odd_cookies(server: ServerProcess, value: bytes) -> None:
    answer = raw_request(server, request("GET", SITE, {"Cookie": value}, auth=False))
    assert_clean(answer, value)


# --- bodies ----------------------------------------------------------------------------

MULTIPART_PART = b'Content-Disposition: form-data; name="file"; filename="x.txt"\r\n\r\nhello\r\n'


@pytest.mark.parametrize("length", [71, 257, 300, 5000])
def test_long_multipart_boundaries_are_400(server: ServerProcess, length: int) -> None:
    boundary = b"b" * length
    body = b"--" + boundary + b"\r\n" + MULTIPART_PART + b"--" + boundary + b"--\r\n"
    headers = {"Content-Type": b"multipart/form-data; boundary=" + boundary}
    answer = raw_request(server, request("POST", SITE, headers, body))
    assert_clean(answer, length)
    assert answer.status == 400, answer


@pytest.mark.parametrize(
    "disposition",
    [
        b"attachment; filename*=utf-7''%2B2AA-",  # a lone surrogate once decoded
        b"attachment; filename*=unicode_escape''%5Cud800",
        b"attachment; filename*=idna''abc",
        b"attachment; filename*=UTF-8''%ff%fe",
        b"attachment; filename*=UTF-8''%ED%A0%80",
    ],
)
def test_filenames_in_other_charsets_are_400_and_stored_nowhere(
    server: ServerProcess, disposition: bytes
) -> None:
    headers = {"Content-Type": "application/octet-stream", "Content-Disposition": disposition}
    answer = raw_request(server, request("POST", f"{SITE}?id=odd-name", headers, b"data"))
    assert_clean(answer, disposition)
    assert answer.status == 400, answer
    with server.root_client() as root:
        assert root.get(f"{SITE}/odd-name").status_code == 404
        assert root.get(SITE).status_code == 200  # the folder still serializes


def test_a_broken_chunked_body_is_answered_with_the_envelope(server: ServerProcess) -> None:
    """The server gives up on the body and tells the app it is gone: the app answers the
    400 (or the connection closes cleanly), never the server's bare-text 500, and nothing
    is created."""
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    body = b'{"@type": "Document", "id": "chunked"}'
    for broken in (
        b"zz\r\n" + body + b"\r\n0\r\n\r\n",  # not a hex size
        b"%x\r\n" % len(body) + body + b"\r\n-1\r\n\r\n",  # a good chunk, then a bad size
        b"%x\r\n" % len(body) + body + b"XX0\r\n\r\n",  # no CRLF after the data
    ):
        answer = raw_request(server, request("POST", SITE, headers, broken, length=False))
        assert_clean(answer, broken)
        if answer.status is not None:
            assert answer.status == 400, answer
            assert answer.body, answer
    with server.root_client() as root:
        assert root.get(f"{SITE}/chunked").status_code == 404


# --- URLs, methods, hosts --------------------------------------------------------------

ODD_REQUESTS = [
    request("GET", "/%ff"),
    request("GET", "/db/%ff%fe"),
    request("GET", "/db/site/%00"),
    request("GET", "/db/site/%00/@x"),
    request("GET", "/db/site/%c0%af"),
    request("GET", "/db/site/..%2f..%2f"),
    request("GET", "//db//site//"),
    request("GET", "/" + "a" * 8000),
    request("GET", SITE + "/x" * 3000),
    request("GET", "/nodb/x"),
    request("GET", "/@"),
    request("GET", "/db/@"),
    request("GET", "/db/site/@@x"),
    request("GET", "/db/site/@ws"),  # a WebSocket endpoint reached by plain HTTP: 426
    request("FOO", "/"),
    request("FOO", SITE),
    request("TRACE", SITE),
    request("PROPFIND", SITE),
    request("OPTIONS", SITE),
    request("OPTIONS", "*"),
    request("HEAD", SITE),
    request("HEAD", "/nodb"),
    request("DELETE", "/"),
    request("DELETE", "/db"),
    request("PUT", "/db", {"Content-Type": "application/json"}, b"{}"),
    request("PATCH", "/", {"Content-Type": "application/json"}, b"{}"),
    request("POST", SITE, {"Content-Type": "application/json"}, b'{"title": "\\ud800"}'),
    request("POST", SITE, {"Content-Type": "application/json"}, b"[" * 5000),
    request("POST", SITE, {"Content-Type": "application/json"}, b'{"id": 1e400}'),
    request("POST", SITE, {"Content-Type": "application/json"}, b'{"id": 99999999999999999999}'),
    request("POST", SITE, {"Content-Type": "application/json"}, b"\xff\xfe{}"),
    request("POST", SITE, {"Content-Type": b"application/json; charset=\xff"}, b"{}"),
    request("POST", SITE, {"Content-Type": "multipart/form-data"}, b"x"),
    request("POST", SITE, {"Content-Type": "multipart/form-data; boundary="}, b"x"),
    request("POST", SITE, {"Content-Disposition": b"attachment; filename*=\xff''x"}, b"x"),
    request("PUT", SITE + "/file/@upload/file", {"Content-Disposition": b"\xff\x00"}, b"x"),
    request(
        "POST",
        SITE + "/@tus",
        {"Tus-Resumable": "1.0.0", "Upload-Length": "10", "Upload-Metadata": b"filename \xff\xfe"},
    ),
    request(
        "POST",
        SITE + "/@tus",
        {"Tus-Resumable": "1.0.0", "Upload-Length": "10", "Upload-Metadata": "filename 7_-8"},
    ),
    request("GET", SITE, {"Host": b"\xff\xfe"}),
    request("GET", SITE, {"If-None-Match": b"\xff" * 100}),
    request("GET", SITE, {"Origin": b"http://\xff"}),
    request("GET", SITE + "?b_size=\xff&b_start=%ff"),
    request("GET", SITE + "/@principals?search=%ff%00"),
    request("GET", SITE + "/@ws?ws_token=%ff"),
    request("GET", SITE, {"Accept": b"\xff/\xff"}),
    request("GET", SITE + "/file/@download/file", {"Range": b"bytes=\xff-\xff"}),
    request(
        "GET",
        SITE + "/file/@download/file",
        {"If-Modified-Since": "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"},
    ),
    request("GET", SITE + "/file/@download/file", {"If-Modified-Since": "Mon, 32 Dec 2026"}),
    request("GET", SITE + "/file/@download/file", {"If-Range": "Mon, 01 Jan 9999999999"}),
    request("GET", SITE + "/file/@download/file", {"Range": b"bytes=0-0,1-1,2-2" * 500}),
    request("GET", SITE, auth=False),
]


@pytest.mark.parametrize("data", ODD_REQUESTS, ids=range(len(ODD_REQUESTS)))
def test_hostile_requests_never_5xx_and_always_the_envelope(
    server: ServerProcess, data: bytes
) -> None:
    answer = raw_request(server, data)
    assert_clean(answer, data[:200])


# --- WebSockets ------------------------------------------------------------------------


def _ws_url(server: ServerProcess, path: str) -> str:
    return server.url.replace("http", "ws", 1) + path


async def _refusal(server: ServerProcess, path: str) -> tuple[int, dict[str, Any]]:
    with pytest.raises(InvalidStatus) as denied:
        async with connect(
            _ws_url(server, path),
            additional_headers={"Authorization": BASIC.decode()},
            open_timeout=TIMEOUT,
        ):
            pytest.fail("the handshake was accepted")
    response = denied.value.response
    body: dict[str, Any] = json.loads(response.body or b"{}")
    assert set(body) == ENVELOPE, response.body
    return response.status_code, body


@pytest.mark.parametrize(
    "path", [SITE, "/db", "/", SITE + "/file", SITE + "/missing", "/nodb", SITE + "/@users"]
)
async def test_an_upgrade_elsewhere_than_ws_is_refused_with_the_envelope(
    server: ServerProcess, path: str
) -> None:
    """The same answer for every path that is not ``@ws``: existing, missing or a service."""
    status, body = await _refusal(server, path)
    assert (status, body["type"]) == (400, "BadRequest"), body


async def test_an_upgrade_on_ws_of_a_missing_path_is_404(server: ServerProcess) -> None:
    status, body = await _refusal(server, SITE + "/missing/@ws")
    assert (status, body["type"]) == (404, "NotFound"), body


@pytest.mark.parametrize("origin", ["http://[", "http://[::1", "http://\u00ff"])
async def test_a_cookie_from_an_odd_origin_is_403(server: ServerProcess, origin: str) -> None:
    with pytest.raises(InvalidStatus) as denied:
        async with connect(
            _ws_url(server, SITE + "/@ws"),
            additional_headers={"Cookie": "auth_token=x", "Origin": origin},
            open_timeout=TIMEOUT,
        ):
            pytest.fail("the handshake was accepted")
    response = denied.value.response
    assert response.status_code == 403, response.body
    assert set(json.loads(response.body or b"{}")) == ENVELOPE


@pytest.mark.parametrize(
    "frame_id",
    ["18446744073709551616", "9223372036854775808", "-18446744073709551616", "1e400", "1.5",
     "true", "null", "[1]", "{}", '"' + "x" * 300 + '"'],
)  # fmt: skip
async def test_absurd_frame_ids_get_an_error_frame_and_keep_the_socket(
    server: ServerProcess, frame_id: str
) -> None:
    async with connect(
        _ws_url(server, SITE + "/@ws"),
        additional_headers={"Authorization": BASIC.decode()},
        open_timeout=TIMEOUT,
    ) as ws:
        await ws.send('{"type": "ping", "id": ' + frame_id + "}")
        answer = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert answer["type"] == "error", answer
        assert answer["id"] is None
        assert set(answer["error"]) == FRAME_ENVELOPE
        assert answer["error"]["type"] == "BadRequest", answer
        await ws.send('{"type": "ping", "id": 9007199254740991}')  # the socket still answers
        answer = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert (answer["type"], answer["id"]) == ("ack", 9007199254740991), answer


# --- slow bodies -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def slow(module_servers: Servers) -> ServerProcess:
    """A server that waits at most 1 s for the next part of a body, and 3 s for a JSON body."""
    config = module_servers.config(
        {
            "var_dir": str(module_servers.tmp_path / "var-slow"),
            "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
            "server": {"access_log": False},
            "request": {"body_timeout": 1, "memory_body_timeout": 3},
        },
        name="slow.json",
    )
    srv = module_servers.serve(config)
    with srv.root_client() as root:
        send_sync(root, content_call("/db", "Container", "site", title="Site"))
    return srv


def _spool(module_servers: Servers) -> list[Path]:
    spool = module_servers.tmp_path / "var-slow" / "spool"
    return sorted(spool.iterdir()) if spool.is_dir() else []


def _assert_timed_out(answer: Answer) -> None:
    assert answer.status == 408, answer
    assert answer.headers.get("content-type") == "application/json", answer
    body = json.loads(answer.body)
    assert set(body) == ENVELOPE and body["type"] == "RequestTimeout", body


def test_a_stalled_json_body_is_408_and_creates_nothing(slow: ServerProcess) -> None:
    body = b'{"@type": "Document", "id": "stalled", "title": "never finished"}'
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    start = request("POST", SITE, headers, length=False)
    _assert_timed_out(raw_request(slow, start, then=body[:20]))
    with slow.root_client() as root:
        assert root.get(f"{SITE}/stalled").status_code == 404


def test_a_trickled_json_body_is_408(slow: ServerProcess) -> None:
    """A byte now and then keeps the idle timeout from firing; the whole body's does."""
    body = b'{"@type": "Document", "id": "trickled", "title": "' + b"t" * 100 + b'"}'
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    with socket.create_connection((HOST, slow.port), timeout=TIMEOUT) as sock:
        sock.sendall(request("POST", SITE, headers, length=False))
        for byte in body:  # one byte every 0.5 s, until the server answers
            sock.sendall(bytes([byte]))
            if select.select([sock], [], [], 0.5)[0]:
                break
        answer = _read_answer(sock)
    _assert_timed_out(answer)
    with slow.root_client() as root:
        assert root.get(f"{SITE}/trickled").status_code == 404


def test_a_stalled_upload_is_408_and_leaves_nothing(
    slow: ServerProcess, module_servers: Servers
) -> None:
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": 'attachment; filename="big.bin"',
        "Content-Length": "100000",
    }
    start = request("POST", f"{SITE}?id=big", headers, length=False)
    _assert_timed_out(raw_request(slow, start, then=b"x" * 5000))
    assert _spool(module_servers) == []
    with slow.root_client() as root:
        assert root.get(f"{SITE}/big").status_code == 404


def test_a_stalled_tus_patch_is_408_and_keeps_the_offset(
    slow: ServerProcess, module_servers: Servers
) -> None:
    with slow.root_client() as root:
        resp = root.post(f"{SITE}/@tus", headers={"tus-resumable": "1.0.0", "upload-length": "100"})
        assert resp.status_code == 201, resp.text
        upload = str(httpx.URL(resp.headers["location"]).path)
    headers = {
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
        "Content-Length": "100",
    }
    start = request("PATCH", upload, headers, length=False)
    _assert_timed_out(raw_request(slow, start, then=b"y" * 40))
    assert _spool(module_servers) == []
    with slow.root_client() as root:
        resp = root.head(upload, headers={"tus-resumable": "1.0.0"})
        assert resp.headers["upload-offset"] == "0"
    assert_no_traceback(slow)
