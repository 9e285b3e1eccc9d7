"""Property-based fuzzing of the API with schemathesis, from its own description.

The app runs in-process (schemathesis's ASGI client starts its lifespan on a thread of its
own). A seeded site (``/db/site`` with a folder, documents, a file, a user and a group) gives
the path parameters values that reach real objects, so requests get past traversal; each
operation is tried as a Manager (root), as a lesser user (a global Editor) and anonymously,
positive and negative data alike, and a state machine follows the description's links (create,
then read, change, move, copy, share, delete what was created). Every answer must be no 5xx,
documented (status, content type, headers) and fit its schema. Used by the CI test
(``tests/api/test_fuzz.py``, small and derandomized) and by ``bench/fuzz.py`` (longer).
"""

from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Callable
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from baobab.testing.kit import ROOT_PASSWORD, TEST_USERS

__all__ = ["CHECKS", "FUZZ_OVERRIDES", "FuzzReport", "fuzz", "load_schema", "seed_site", "stop"]

# Settings of a fuzzed app (``make_settings(**FUZZ_OVERRIDES)``): no login throttle. The fuzzer
# sends many wrong passwords from one address, which would soon lock out the identities it
# fuzzes with (every later answer a 429); the throttle has its own tests.
FUZZ_OVERRIDES: dict[str, Any] = {
    "auth": {"throttle": {"login_failures": 0, "address_failures": 0}}
}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# TUS's PATCH body: bytes, as any octet stream
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")


def _basic(login: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


# Who asks: a Manager, a lesser user (a global Editor), nobody.
IDENTITIES: dict[str, dict[str, str]] = {
    "manager": _basic("root", ROOT_PASSWORD),
    "editor": _basic("editor", TEST_USERS["editor"][0]),
    "anonymous": {},
}

_TEXT = base64.b64encode(b"hello, baobab\n").decode()
# (parent, body) in order; each create tolerates an existing object (a re-seed)
SEED: tuple[tuple[str, dict[str, Any]], ...] = (
    ("/db", {"@type": "Container", "id": "site", "title": "Site"}),
    ("/db/site", {"@type": "Folder", "id": "folder", "title": "Folder"}),
    ("/db/site", {"@type": "Document", "id": "doc", "title": "Doc", "text": "Some text"}),
    ("/db/site/folder", {"@type": "Document", "id": "page", "title": "Page"}),
    (
        "/db/site",
        {
            "@type": "File",
            "id": "file",
            "file": {"data": _TEXT, "filename": "hello.txt", "content-type": "text/plain"},
        },
    ),
    ("/db/site/@users", {"username": "alice", "password": "alice-secret", "fullname": "Alice"}),
    ("/db/site/@groups", {"groupname": "staff", "title": "Staff"}),
)

# Values that reach the seeded objects (and a missing one), per path parameter.
PARAMETERS: dict[str, list[str]] = {
    "container": ["site"],
    "path": ["doc", "folder", "file", "folder/page", "missing"],
    "field": ["file", "text", "image"],
    "user": ["alice", "missing"],
    "group": ["staff", "missing"],
    "transition": ["publish", "submit", "retract", "reject", "hide", "show"],
    "type": ["Document", "Folder", "File", "Image", "Container", "Missing"],
    "upload": ["0123456789abcdef"],
}


def seed_site(app: Any) -> None:
    """Create what the fuzzer aims at (again, if a request deleted it)."""
    with asgi.get_client(app) as client:
        for parent, body in SEED:
            resp = client.post(parent, json=body, headers=IDENTITIES["manager"])
            assert resp.status_code in (201, 409), (parent, resp.status_code, resp.text)


def load_schema(app: Any) -> Any:
    """The app's own description, its path parameters narrowed to the seeded values."""
    with asgi.get_client(app) as client:
        resp = client.get("/@openapi")
        assert resp.status_code == 200, resp.text
        document = resp.json()
    for item in document["paths"].values():
        for operation in item.values():
            for param in operation.get("parameters", ()):
                values = PARAMETERS.get(param["name"])
                if param["in"] == "path" and values:
                    param["schema"] = {"type": "string", "enum": values}
                    param["examples"] = {v.replace("/", "_"): {"value": v} for v in values}
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app
    return schema


@dataclasses.dataclass
class FuzzReport:
    requests: int = 0
    stateful_requests: int = 0
    operations: int = 0
    failures: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    # why the linked sequences stopped before their number (not a failure of the app)
    stopped_early: str = ""

    def summary(self) -> str:
        text = (
            f"{self.requests} requests ({self.stateful_requests} in linked sequences), "
            f"{self.operations} operations, "
            f"{len(self.failures)} failures, {self.seconds:.0f} s"
        )
        return f"{text}; {self.stopped_early}" if self.stopped_early else text


def _settings(max_examples: int, *, stateful: bool = False) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=max_examples,
        derandomize=True,  # the same cases every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report, do not minimise
        suppress_health_check=list(HealthCheck),
        stateful_step_count=10 if stateful else 50,
        report_multiple_bugs=False,
    )


def _order(label: str) -> tuple[int, str]:
    """Destructive operations last (deleting the site last of all), so the rest reach it."""
    method, _, path = label.partition(" ")
    if method == "DELETE" and path == "/{db}/{container}":
        return 3, label
    if method == "DELETE" or "@move" in path:
        return 2, label
    return 1, label


def fuzz(
    app: Any,
    *,
    max_examples: int = 5,
    stateful_examples: int = 5,
    log: Callable[[str], None] | None = None,
    only: Callable[[str], bool] | None = None,
) -> FuzzReport:
    """Fuzz every operation of ``app``'s description (or those whose label, such as
    ``GET /@openapi``, ``only`` accepts); return what happened."""
    started = time.monotonic()
    seed_site(app)
    schema = load_schema(app)
    report = FuzzReport()
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if only is None or only(op.label)]
    operations.sort(key=lambda op: _order(op.label))
    for operation in operations:
        report.operations += 1
        error = _fuzz_operation(operation, report, max_examples)
        if error is not None:
            report.failures.append((operation.label, error))
            if log is not None:
                log(f"FAIL {operation.label}: {error}")
        if _order(operation.label)[0] > 1:
            seed_site(app)
    _stateful(app, schema, report, stateful_examples, log)
    report.seconds = time.monotonic() - started
    return report


def _fuzz_operation(operation: Any, report: FuzzReport, max_examples: int) -> str | None:
    """Try ``operation`` with generated cases (either mode, each identity); the first
    failure, or None."""
    strategies = {
        mode: operation.as_strategy(generation_mode=mode) for mode in schemathesis.GenerationMode
    }
    modes = st.sampled_from(list(strategies))

    @hypothesis.given(data=st.data(), who=st.sampled_from(sorted(IDENTITIES)))
    @_settings(max_examples)
    def run(data: st.DataObject, who: str) -> None:
        case = data.draw(strategies[data.draw(modes)])
        report.requests += 1
        case.call_and_validate(headers=IDENTITIES[who], checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a FailureGroup
        return _describe(exc)
    return None


def _stateful(
    app: Any,
    schema: Any,
    report: FuzzReport,
    examples: int,
    log: Callable[[str], None] | None,
) -> None:
    if examples <= 0:
        return
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[valid-type,misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": IDENTITIES["manager"]}

        def after_call(self, response: Any, case: Any) -> None:
            report.requests += 1
            report.stateful_requests += 1

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            try:
                case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"))
            except (Exception, BaseExceptionGroup) as exc:
                # recorded here: hypothesis's replay of a sequence against a database that
                # has changed since may not reach the same step (and says only that)
                failed.append((f"stateful {case.operation.label}", _describe(exc)))
                raise

    failed: list[tuple[str, str]] = []
    try:
        Machine.run(settings=_settings(examples, stateful=True))
    except FlakyStrategyDefinition:
        # The sequences share one database, so a choice hypothesis makes again can meet
        # other objects and draw differently; it then stops. Nothing the app answered is
        # lost: every failing answer is recorded above as it happens.
        report.stopped_early = (
            "linked sequences stopped early: the shared database changed a replay"
        )
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a FailureGroup
        if not failed:
            failed.append(("stateful (links)", _describe(exc)))
    for label, text in dict(failed).items():
        report.failures.append((label, text))
        if log is not None:
            log(f"FAIL {label}: {text}")
    seed_site(app)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text[:4000] or type(exc).__name__


def stop(app: Any) -> None:
    """End the app's lifespan that schemathesis's client started."""
    asgi.shutdown_lifespans()
