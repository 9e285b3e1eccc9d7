"""The README's API tour, run verbatim with curl against a real server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.server

README = Path(__file__).resolve().parents[2] / "README.md"


def _tour(section: str = "## API tour") -> str:
    text = README.read_text()
    block = text.split(section, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    if section == "## API tour":
        assert block.startswith("B=http://127.0.0.1:8080;")
    return block


def test_readme_api_tour(servers: Any) -> None:
    server = servers.serve()
    script = _tour().replace("http://127.0.0.1:8080", server.url, 1)
    done = subprocess.run(
        ["bash", "-c", f"set -u\nPW={servers.root_password}\n{script}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    answers = [json.loads(line) for line in lines if line.startswith(("{", "["))]
    codes = [line for line in lines if not line.startswith(("{", "["))]
    # PATCH with the current ETag, DELETE, @logout; then HTTP/2 on the same port
    assert codes == ["204", "204", "204", "2 200"]
    created = answers[:3]
    assert [a["@type"] for a in created] == ["Container", "Folder", "Document"]
    assert answers[3]["text"] == "First post"
    assert answers[4]["items_total"] == 1
    stale = answers[5]
    assert stale["type"] == "PreconditionFailed"
    assert stale["details"]["existing"]["title"] == "Hi"
    assert answers[6]["subjects"] == ["intro"]
    assert answers[7]["@id"].endswith("/db/site/welcome")
    assert answers[8]["@id"].endswith("/db/site/news/welcome")
    assert {t["id"] for t in answers[9]} == {"Document", "File", "Folder", "Image"}
    assert answers[10]["type"] == "object"
    assert answers[11]["id"] == "welcome"  # read with the token
    assert "token" in answers[12]  # renewed
    assert answers[13]["type"] == "Unauthorized"  # after logout


def _continue_tour(servers: Any, section: str, cwd: Path | None = None) -> str:
    """Run a README section after the API tour's prelude (B, U, J, api()) and a site; its
    output."""
    server = servers.serve()
    prelude = _tour().split("\n# a container", 1)[0]
    script = "\n".join(
        [
            prelude.replace("http://127.0.0.1:8080", server.url, 1),
            'api -X POST $B/db -d \'{"@type": "Container", "id": "site"}\' >/dev/null',
            _tour(section),
        ]
    )
    done = subprocess.run(
        ["bash", "-c", f"set -u\nPW={servers.root_password}\n{script}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_readme_security_tour(servers: Any) -> None:
    stdout = _continue_tour(servers, "## Users, sharing and workflow")
    lines = stdout.splitlines()
    answers = [json.loads(line) for line in lines if line.startswith(("{", "["))]
    codes = [line for line in lines if not line.startswith(("{", "["))]
    # alice before sharing, the sharing POST, alice's PATCH, anonymous after publishing
    assert codes == ["404", "204", "204", "200"]
    user, group, doc, sharing, me, submitted, workflow, published = answers
    assert user["id"] == "alice" and "password" not in user
    assert group["users"] == {"items": ["alice"], "items_total": 1}
    assert doc["review_state"] == "private"
    editors = next(e for e in sharing["entries"] if e["id"] == "editors")
    assert editors["roles"]["baobab.Editor"] is True
    assert me["permissions"] == {"baobab.View": True, "baobab.ReviewContent": False}
    assert me["groups"] == ["editors"]
    assert submitted["review_state"] == "pending" and submitted["comments"] == "ready"
    assert workflow["state"]["id"] == "pending"
    assert [h["action"] for h in workflow["history"]] == [None, "submit"]
    assert published["review_state"] == "published"


def test_readme_files_tour(servers: Any, tmp_path: Path) -> None:
    work = tmp_path / "tour"
    work.mkdir()
    lines = _continue_tour(servers, "## Files", cwd=work).splitlines()
    answers = [json.loads(line) for line in lines if line.startswith(("{", "["))]
    others = [line for line in lines if not line.startswith(("{", "["))]
    # cmp's "same", the range, the first TUS PATCH, HEAD's offset, the last PATCH
    assert others == ["same", "206 100", "204", "1000000", "204"]
    raw, form, replaced, tus = answers
    assert raw["@type"] == "File" and raw["file"]["filename"] == "résumé.bin"
    assert raw["file"]["size"] == 3_000_000
    assert form["id"] == "report" and form["title"] == "Quarterly report"
    assert replaced["filename"] == "report-v2.bin" and replaced["size"] == 3_000_000
    assert tus["file"]["filename"] == "tus.bin" and tus["file"]["size"] == 3_000_000
    assert list(work.iterdir()) == []  # the tour cleans up after itself


def test_readme_openapi_tour(servers: Any) -> None:
    lines = _continue_tour(servers, "## API description (OpenAPI)").splitlines()
    operations, *permissions, required = lines
    assert int(operations) > 100
    assert "get baobab.View" in permissions and "patch baobab.ModifyContent" in permissions
    assert json.loads(required) == ["@type"]
