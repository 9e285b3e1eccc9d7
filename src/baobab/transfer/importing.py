"""Reading an archive into a new container, in batches, made visible only when complete.

The container is built where nothing sees it: in a staging mapping of its own at the
database's ZODB root (``baobab.transfer.staging``), though with its final name and its
``__parent__`` already the content root, so every path the catalog records is final. Each
batch of objects is one transaction (their catalog entries and allowed-principal tokens
written in it, by the indexing queue and :func:`baobab.security.indexing.step`), after which
the connection's cache is emptied: memory stays flat however large the archive. The last
transaction puts the container in the content root (replacing the old one with
``replace``) and drops the staging entry: until then servers see nothing; after it, the
container is complete, searchable and secured. A failure (a malformed or truncated archive,
a conflict) removes the staging entry, and the database is as before. An import killed
outright leaves its entry behind, unreachable from the content: the next import removes
entries older than :data:`STALE` (their objects go at the next pack).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import transaction
import ZODB
from BTrees.OOBTree import OOBTree
from transaction.interfaces import NoTransaction
from ZODB.blob import Blob

from baobab.catalog.queue import ensure_catalog, queue_for
from baobab.catalog.rebuild import Progress, Report
from baobab.config.registry import Registry
from baobab.content.files import NamedFile
from baobab.content.ids import validate_id
from baobab.content.interfaces import IContainer
from baobab.content.resources import DatabaseRoot, Folder, Resource
from baobab.database.transactions import ROOT_KEY, run_in_transaction
from baobab.errors import AlreadyExists, ArchiveError, BaobabError
from baobab.security.indexing import VIEW, step
from baobab.security.policy import SecurityPolicy, effective_local_roles
from baobab.security.users import user_folder
from baobab.transfer import archive
from baobab.transfer.exporting import Counts
from baobab.transfer.principals import add_group, add_user
from baobab.transfer.records import build_object

__all__ = ["BATCH", "STAGING_KEY", "STALE", "Imported", "check_free", "import_container"]

logger = logging.getLogger(__name__)

BATCH = 1000  # objects (or users) per transaction
STAGING_KEY = "baobab.transfer.staging"
STALE = 24 * 3600.0  # seconds after which a staging entry is taken for a killed import's


@dataclass
class Imported:
    path: str
    counts: Counts
    seconds: float


@dataclass
class _Frame:
    """A folder on the way down: its path below the container and what its children
    inherit (local roles in effect, roles granting View)."""

    path: str
    folder: Folder
    local: dict[str, frozenset[str]]
    view: frozenset[str]


def _now() -> float:
    return time.time()


def _abort(tm: transaction.TransactionManager) -> None:
    """Abort the explicit transaction if one is open (after a commit there is none)."""
    with contextlib.suppress(NoTransaction):
        tm.abort()


class _Import:
    def __init__(
        self, db: ZODB.DB, target: str, registry: Registry, policy: SecurityPolicy, batch: int
    ) -> None:
        self.db = db
        self.target = target
        self.registry = registry
        self.policy = policy
        self.batch = batch
        self.key = uuid.uuid4().hex
        self.tm = transaction.TransactionManager(explicit=True)
        self.conn: Any = db.open(transaction_manager=self.tm)
        self.stack: list[_Frame] = []
        self.counts = Counts()
        self.pending: dict[str, dict[str, Any]] = {}  # the current object's files to come
        self.current: Resource | None = None
        self.current_seq = -1
        self.in_batch = 0

    # -- transactions -----------------------------------------------------------------

    def begin(self) -> None:
        self.tm.begin()

    def commit_if_due(self) -> None:
        self.in_batch += 1
        if self.in_batch >= self.batch and not self.pending:
            self.tm.commit()
            self.conn.cacheGC()  # down to the cache size: the catalog's hot buckets stay
            self.tm.begin()
            self.in_batch = 0

    # -- the container ----------------------------------------------------------------

    def root(self) -> DatabaseRoot:
        root = self.conn.root().get(ROOT_KEY)
        if not isinstance(root, DatabaseRoot):
            name = self.conn.db().database_name
            root = self.conn.root()[ROOT_KEY] = DatabaseRoot(name, "Database")
        return root

    def stage(self, record: dict[str, Any]) -> None:
        """The container from its record, in the staging mapping (stale entries dropped)."""
        extra = record.get("@baobab")
        if not isinstance(extra, dict) or extra.get("path") != "":
            raise ArchiveError("the archive's first object is not its container")
        obj = build_object(self.registry, record, "the container")
        if not IContainer.providedBy(obj):
            raise ArchiveError(f"the archive's first object is a {obj.type_name}, not a site")
        root = self.root()
        staging = self.conn.root().get(STAGING_KEY)
        if staging is None:
            staging = self.conn.root()[STAGING_KEY] = OOBTree()
        for key, (_container, started) in list(staging.items()):
            if _now() - started > STALE:
                del staging[key]
        obj.__name__, obj.__parent__ = self.target, root
        assert isinstance(obj, Folder)
        inherited = effective_local_roles(root)
        local, view, obj._allowed = step(obj, inherited, self.policy.roles_granting(VIEW, root))
        staging[self.key] = (obj, _now())
        self.conn.add(obj)  # in the connection now: the indexing queue finds it by its jar
        self.stack = [_Frame("", obj, local, view)]
        self.current, self.counts.objects = obj, 1

    @property
    def container(self) -> Folder:
        return self.stack[0].folder

    # -- members ----------------------------------------------------------------------

    def principal(self, member: archive.Member) -> None:
        if self.counts.objects != 1:
            raise ArchiveError(f"{member.name}: users and groups come right after the container")
        folder = user_folder(self.container, create=True)
        assert folder is not None
        if member.kind == "group":
            if self.counts.users:
                raise ArchiveError(f"{member.name}: groups come before users")
            add_group(folder, member.data, member.name)
            self.counts.groups += 1
        else:
            add_user(folder, member.data, member.name)
            self.counts.users += 1
        self.commit_if_due()

    def content(self, member: archive.Member) -> None:
        self.finish_current()
        if member.seq != self.counts.objects:
            raise ArchiveError(f"{member.name}: expected object {self.counts.objects}")
        record = member.data
        extra = record.get("@baobab")
        path = extra.get("path") if isinstance(extra, dict) else None
        if not isinstance(path, str) or not path:
            raise ArchiveError(f"{member.name}: no path below the container")
        parent_path, _, name = path.rpartition("/")
        while self.stack and self.stack[-1].path != parent_path:
            self.stack.pop()  # parents come before children: it is on the way down, or none
        if not self.stack:
            raise ArchiveError(f"{member.name}: its parent {parent_path!r} is not before it")
        frame = self.stack[-1]
        obj = build_object(self.registry, record, member.name)
        if obj.__name__ != name:
            raise ArchiveError(f"{member.name}: id {obj.__name__!r} does not match its path")
        local, view, obj._allowed = step(obj, frame.local, frame.view)
        position = extra.get("position") if isinstance(extra, dict) else None
        try:
            validate_id(name)
            if isinstance(position, int):
                frame.folder._restore_child(name, obj, position)
            else:
                frame.folder._set_child(name, obj)
        except (BaobabError, ValueError) as exc:
            raise ArchiveError(f"{member.name}: cannot be added: {exc}") from None
        queue = queue_for(obj, self.registry)
        if queue is not None:
            queue.index(obj)
        if isinstance(obj, Folder):
            self.stack.append(_Frame(path, obj, local, view))
        self.pending = dict(extra.get("files") or {})
        self.current, self.current_seq = obj, member.seq
        self.counts.objects += 1
        self.commit_if_due()

    def blob(self, member: archive.Member) -> None:
        meta = self.pending.pop(member.key, None)
        if member.seq != self.current_seq or meta is None:
            raise ArchiveError(f"{member.name}: no file of the object before it expects it")
        assert member.file is not None and self.current is not None
        blob = Blob()
        self.conn.add(blob)
        with blob.open("w") as target:
            size, sha256 = archive.copy_blob(member.file, target, member.size, member.name)
        if size != meta.get("size") or sha256 != meta.get("sha256"):
            raise ArchiveError(f"{member.name}: size or SHA-256 differs from its record")
        value = NamedFile(
            blob,
            filename=str(meta.get("filename") or "file"),
            content_type=str(meta.get("content_type") or "application/octet-stream"),
            size=size,
            sha256=sha256,
        )
        try:
            value.modified = dt.datetime.fromisoformat(meta["modified"])
        except (KeyError, TypeError, ValueError):
            raise ArchiveError(f"{member.name}: the file's modified date is missing") from None
        value.width, value.height = meta.get("width"), meta.get("height")
        setattr(self.current, member.key, value)
        self.counts.blobs += 1
        self.counts.blob_bytes += size

    def finish_current(self) -> None:
        if self.pending:
            missing = ", ".join(sorted(self.pending))
            raise ArchiveError(f"object {self.current_seq}: the blob of {missing} is missing")

    def take(self, member: archive.Member) -> dict[str, Any] | None:
        """Apply one member (after the manifest); the end record's data once it comes."""
        if member.kind == "content" and not self.stack:
            if member.seq != 0:
                raise ArchiveError(f"{member.name}: the container's record must come first")
            self.stage(member.data)
        elif not self.stack:
            raise ArchiveError(f"{member.name} before the container's record")
        elif member.kind == "content":
            self.content(member)
        elif member.kind in ("group", "user"):
            self.principal(member)
        elif member.kind == "blob":
            self.blob(member)
        elif member.kind == "end":
            self.finish_current()
            end: dict[str, Any] = member.data
            return end
        else:
            raise ArchiveError(f"{member.name}: a second manifest")
        return None

    # -- the end ----------------------------------------------------------------------

    def close_batch(self) -> None:
        ensure_catalog(self.container, self.registry)  # an empty container has one too
        self.tm.commit()

    def attach(self, replace: bool) -> None:
        """Put the staged container in the content root (one replayable transaction)."""

        def work(conn: Any) -> tuple[None, bool]:
            root = conn.root()[ROOT_KEY]
            container, _started = conn.root()[STAGING_KEY][self.key]
            if self.target in root:
                if not replace:
                    raise AlreadyExists(_exists(self.target, conn.db().database_name))
                root._del_child(self.target)
            root._set_child(self.target, container)
            del conn.root()[STAGING_KEY][self.key]
            return None, True

        run_in_transaction(self.db, work, retries=10)

    def discard(self) -> None:
        """Drop the staging entry (a failed import): the database is as it was."""
        _abort(self.tm)

        def work(conn: Any) -> tuple[None, bool]:
            staging = conn.root().get(STAGING_KEY)
            if staging is None or self.key not in staging:
                return None, False
            del staging[self.key]
            return None, True

        try:
            run_in_transaction(self.db, work, retries=10)
        except Exception:  # the import's own error is the one to report
            logger.exception("could not remove the staged import %s", self.key)

    def close(self) -> None:
        _abort(self.tm)
        self.conn.close()


def _exists(target: str, database: str) -> str:
    return (
        f"a container {target!r} already exists in database {database!r} (import under "
        "another id with --container, or replace it with --replace)"
    )


def check_free(db: ZODB.DB, target: str) -> None:
    """Refuse, before reading anything, a target id that is taken."""

    def work(conn: Any) -> tuple[bool, bool]:
        root = conn.root().get(ROOT_KEY)
        return isinstance(root, Folder) and target in root, False

    if run_in_transaction(db, work, retries=0):
        raise AlreadyExists(_exists(target, db.database_name))


def _read(
    work: _Import,
    manifest: dict[str, Any],
    members: Iterator[archive.Member],
    progress: Progress,
    report: Report,
) -> None:
    """The members after the manifest, in the order the archive must have."""
    counts = manifest.get("counts")
    total = counts.get("objects") if isinstance(counts, dict) else None
    progress.total = total if isinstance(total, int) else 0  # only for the progress bar
    end: dict[str, Any] | None = None
    for member in members:
        if end is not None:
            raise ArchiveError(f"{member.name} after the end record")
        end = work.take(member)
        if work.counts.objects != progress.done:
            progress.done = work.counts.objects
            report(progress)
    if end is None:
        raise ArchiveError("the archive is truncated: it has no end record")
    if end != work.counts.as_dict():
        raise ArchiveError(f"the archive's end record {end} does not match what it holds")


def import_container(
    db: ZODB.DB,
    *,
    target: str | None,
    source: IO[bytes],
    registry: Registry,
    policy: SecurityPolicy,
    replace: bool = False,
    batch: int = BATCH,
    report: Report | None = None,
) -> Imported:
    """Import the archive ``source`` into ``db`` as container ``target`` (None: the id the
    archive was exported from). Raises :class:`ArchiveError` for a bad archive and
    :class:`AlreadyExists` for a taken id (unless ``replace``), leaving the database as it
    was."""
    reader = archive.ArchiveReader(source)
    members = reader.members()
    first = next(members, None)
    if first is None:
        raise ArchiveError("the archive is empty")
    manifest = archive.check_manifest(first)
    source_info = manifest.get("source")
    exported = source_info.get("container") if isinstance(source_info, dict) else None
    name = target or (exported if isinstance(exported, str) else "")
    try:
        validate_id(name)
    except BaobabError as exc:
        raise ArchiveError(f"cannot import as container {name!r}: {exc.message}") from None
    if not replace:
        check_free(db, name)
    progress = Progress(path=f"/{db.database_name}/{name}")
    progress.phase = "index"
    work = _Import(db, name, registry, policy, batch)
    try:
        work.begin()
        _read(work, manifest, members, progress, report or (lambda p: None))
        work.close_batch()
        work.attach(replace)
    except BaseException:
        work.discard()
        raise
    finally:
        work.close()
        reader.close()
    progress.phase = "done"
    if report is not None:
        report(progress)
    return Imported(progress.path, work.counts, progress.elapsed)
