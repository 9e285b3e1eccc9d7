"""``baobab export`` / ``baobab import`` in process, on FileStorage written by a real server:
FS → FS under a new id, a ``--path`` subtree, refusals (a taken id, a bad archive) that leave
the content as it was, and ``--replace``."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from transfer_support import assert_same, build_site, dump, without_container_name

from baobab.cli.main import main
from baobab.config.settings import load_settings
from baobab.database.storage import open_database
from baobab.database.transactions import ROOT_KEY
from baobab.testing.server import JWT_SECRET, ROOT_PASSWORD, Servers
from baobab.transfer.importing import STAGING_KEY

pytestmark = [pytest.mark.server]


def fs_config(directory: Path, name: str) -> Path:
    path = directory / f"{name}.json"
    auth = {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET}
    path.write_text(json.dumps({"var_dir": str(directory / f"{name}-var"), "auth": auth}))
    return path


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A FileStorage with /db/site built by a real server, stopped since."""
    directory = tmp_path_factory.mktemp("transfer-source")
    config = fs_config(directory, "source")
    with Servers(directory) as servers:
        server = servers.serve(config)
        with server.root_client() as root:
            build_site(root)
    yield config


@pytest.fixture(scope="module")
def archive(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("transfer-archive") / "site.tar"
    assert main(["export", "-c", str(source), "--container", "site", str(path)]) == 0
    return path


def roots(config: Path) -> tuple[list[str], int]:
    """(the containers of the database, the staged imports left)."""
    settings = load_settings(str(config))
    db = open_database(settings, "db", {}, read_only=True)
    try:
        conn = db.open()
        root = conn.root()
        names = list(root[ROOT_KEY].keys()) if ROOT_KEY in root else []
        staged = len(root[STAGING_KEY]) if STAGING_KEY in root else 0
        conn.close()
        return names, staged
    finally:
        db.close()


def test_filestorage_to_filestorage_under_a_new_id(
    source: Path, archive: Path, tmp_path: Path, capsys: Any
) -> None:
    target = fs_config(tmp_path, "target")
    assert main(["import", "-c", str(target), "--container", "copy", str(archive)]) == 0
    assert "/db/copy: 16 objects, 2 files" in capsys.readouterr().out
    assert_same(
        without_container_name(dump(target, "copy"), "copy"),
        without_container_name(dump(source, "site"), "site"),
    )
    assert roots(target) == (["copy"], 0)


def test_a_compressed_archive_by_its_name(source: Path, tmp_path: Path) -> None:
    packed = tmp_path / "site.tar.gz"
    assert main(["export", "-c", str(source), "--container", "site", str(packed)]) == 0
    assert packed.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    assert packed.stat().st_mode & 0o777 == 0o600  # it holds password hashes
    assert not (tmp_path / "site.tar.gz.part").exists()
    target = fs_config(tmp_path, "target")
    assert main(["import", "-c", str(target), str(packed), "--batch-size", "3"]) == 0
    assert_same(dump(target, "site"), dump(source, "site"))


def test_a_subtree_with_the_folders_leading_to_it(source: Path, tmp_path: Path) -> None:
    part = tmp_path / "inner.tar"
    args = ["export", "-c", str(source), "--container", "site", "--path", "private/inner"]
    assert main([*args, str(part)]) == 0
    target = fs_config(tmp_path, "target")
    assert main(["import", "-c", str(target), "--container", "part", str(part)]) == 0
    got, whole = dump(target, "part")["objects"], dump(source, "site")["objects"]
    below = ["private/inner", *(f"private/inner/{n}" for n in ("p0", "p1", "p2", "q"))]
    assert sorted(got) == sorted(["", "private", *below])
    for path in below:  # the subtree exactly, its tokens included (the ancestors' roles came)
        assert got[path] == whole[path], path
    on_the_way = {"": ["private"], "private": ["inner"]}  # without their other children
    for path, children in on_the_way.items():
        assert got[path]["uid"] == whole[path]["uid"]
        assert got[path]["_local_roles"] == whole[path]["_local_roles"]
        assert [name for name, _ in got[path]["order"]] == children


def test_a_taken_id_is_refused_then_replaced_on_request(
    source: Path, archive: Path, tmp_path: Path, capsys: Any
) -> None:
    target = fs_config(tmp_path, "target")
    assert main(["import", "-c", str(target), str(archive)]) == 0
    before = dump(target, "site")
    capsys.readouterr()
    assert main(["import", "-c", str(target), str(archive)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("a container 'site' already exists in database 'db' (import under "
                        "another id with --container, or replace it with --replace); nothing "
                        "was imported")  # fmt: skip
    assert len(err.splitlines()) == 1
    assert roots(target) == (["site"], 0)
    assert main(["import", "-c", str(target), "--replace", str(archive)]) == 0
    assert_same(dump(target, "site"), before)
    assert roots(target) == (["site"], 0)


def _rewrite(archive: Path, change: Any) -> bytes:
    """The archive's members through ``change(name, data) -> data | None`` (None: left out)."""
    out = io.BytesIO()
    with tarfile.open(archive, "r:") as src, tarfile.open(fileobj=out, mode="w:") as dst:
        for info in src:
            file = src.extractfile(info)
            assert file is not None
            data = change(info.name, file.read())
            if data is not None:
                info.size = len(data)
                dst.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _flip_blob(name: str, data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1]) if name.startswith("blobs/") else data


def _bad_manifest(name: str, data: bytes) -> bytes:
    return data.replace(b'"version":1', b'"version":9') if name == "manifest.json" else data


def _orphan(name: str, data: bytes) -> bytes:
    return data.replace(b'"path":"news/n5"', b'"path":"nowhere/n5"')


def _skip(name: str, data: bytes) -> bytes | None:
    return None if name == "content/000000001.json" else data


CORRUPTIONS: dict[str, tuple[Any, str]] = {
    "not a tar file": (lambda a: b"\x00garbage" * 999, "not a Baobab export archive"),
    "cut in the middle": (lambda a: a.read_bytes()[: a.stat().st_size * 2 // 3], "truncated"),
    "no end record": (
        lambda a: _rewrite(a, lambda n, d: None if n == "end.json" else d),
        "truncated: it has no end record",
    ),
    "a blob changed": (lambda a: _rewrite(a, _flip_blob), "SHA-256 differs from its record"),
    "another version": (lambda a: _rewrite(a, _bad_manifest), "version 9 is not supported"),
    "an unknown parent": (lambda a: _rewrite(a, _orphan), "its parent 'nowhere' is not before it"),
    "an object left out": (lambda a: _rewrite(a, _skip), "expected object 1"),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_bad_archive_is_refused_and_the_content_left_as_it_was(
    archive: Path, tmp_path: Path, corruption: str, capsys: Any
) -> None:
    target = fs_config(tmp_path, "target")
    assert main(["import", "-c", str(target), "--container", "first", str(archive)]) == 0
    make, message = CORRUPTIONS[corruption]
    bad = tmp_path / "bad.tar"
    bad.write_bytes(make(archive))
    capsys.readouterr()
    # small batches: several are committed before the fault is met
    assert main(["import", "-c", str(target), "--batch-size", "2", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and err[-1].endswith("nothing was imported"), err
    assert roots(target) == (["first"], 0)


def test_an_unknown_container_or_path_is_one_line(
    source: Path, tmp_path: Path, capsys: Any
) -> None:
    out = str(tmp_path / "x.tar")
    assert main(["export", "-c", str(source), "--container", "nope", out]) == 2
    assert capsys.readouterr().err.strip() == "baobab: no container named 'nope' in database 'db'"
    assert (
        main(["export", "-c", str(source), "--container", "site", "--path", "no/where", out]) == 2
    )
    assert capsys.readouterr().err.strip() == "baobab: no object at 'no/where' in container 'site'"
    assert not Path(out).exists() and not Path(out + ".part").exists()
