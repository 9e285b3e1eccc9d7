"""Benchmark the catalog (issue 13) on a real ``baobab serve`` with 100,000 documents.

Loading 100,000 documents over HTTP would take an hour, so the corpus
(``bench/catalog_corpus.py``: 200 folders, Documents and Files with words from a fixed
vocabulary, workflow states, local roles; ``alice`` may View about half) is loaded
**in-process**, straight into the FileStorage the server then serves, through the code the
server runs for a POST: ``operations.create``, ``lifecycle.created``, the ``ObjectAdded`` event
followed into the catalog queue, local roles with ``sharing.set_local_roles`` + the security
reindex, the workflow state entered as a transition enters it (``transitions._apply`` +
reindex), and the queue flushed by the commit's before-commit hook; one commit per 1,000
objects. Steps:

1. ``baobab serve`` on a fresh var dir: create ``/db/site`` and the user ``alice`` over HTTP;
   stop it.
2. Load ``--docs`` items in-process (objects/s printed).
3. In-process, on the loaded database: **(e)** index cost per write — ``--writes`` creates and
   PATCHes, one transaction each, with the catalog and again with the catalog queue switched
   off (the same code with ``queue_for`` answering None): milliseconds (whole operation, and
   the queue's flush alone) and records written per commit (all, and the catalog's).
   **(f)** pack, then the FileStorage's size and the pickles reachable from the catalog.
4. ``baobab serve`` on that FileStorage; as alice over HTTP/1.1 (one keep-alive connection,
   warm cache after ``--warmup`` rounds): **(a)** the folder query, **(b)** the site-wide
   query, **(c)** the two-word full-text query (``catalog_corpus.QUERIES``), ``--rounds`` each,
   p50/p99 of the client-side latency; each answer's ``items_total`` is checked against the
   corpus's own count. **(d)** ``--writers`` threads POST Documents for ``--duration``
   seconds, each into its own folder: requests/s and the share answered 409, once per
   ``--d-modes`` (default ``inline``, where writes are serialized on the event loop and
   cannot conflict, then ``pool``, where they run concurrently in the server's threads and
   ZODB conflicts can happen).

Before (d), in-process: the three queries as ``@search`` runs them (the server's share),
and a conflict probe: ``--writers`` connections create a Document each and commit in turn,
``--probe`` rounds, the ConflictErrors' objects mapped to the catalog part they belong to.

``.venv/bin/python bench/catalog.py`` (100k; about 20 minutes on the 2-vCPU VM),
``--docs 10000`` for a quick sanity run, ``--keep`` then ``--reuse DIR --profile`` to
profile the queries on a loaded database. See bench/README.md ("Catalog (issue 13)").
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import catalog_corpus as corpus  # bench/catalog_corpus.py, found through the path above
import run as base  # bench/run.py
from baobab.testing import content_call, login_call, send_sync, user_call
from baobab.testing.server import HOST
from zodb_sizes import reachable  # bench/zodb_sizes.py, likewise

SITE = "/db/site"
ALICE_PASSWORD = "alice-bench-password"
ACTOR = "admin"  # the creator of the loaded content (Owner on it)
ROLE = {r: f"baobab.{r}" for r in ("Reader", "Editor", "Contributor", "Reviewer")}
TRANSITION = {"published": "publish", "pending": "submit"}
WRITES_FOLDER = "writes"


# --- 1. the site and alice, over HTTP --------------------------------------------------------


def make_site(config: Path, workdir: Path) -> str:
    """Create the site and alice on a first server run; alice's principal id."""
    with base.running_server(config, workdir) as server:
        token = base.root_token(server.port)
        with base.api(server.port, token) as http:
            send_sync(http, content_call("/db", "Container", "site", title="Catalog bench"))
            user = send_sync(http, user_call(SITE, corpus.BENCH_USER, ALICE_PASSWORD))
    principal: str = user.get("id", corpus.BENCH_USER)
    return principal


# --- 2. the in-process load ------------------------------------------------------------------


class Loader:
    """The server's state (registry, policy, databases) opened on the bench's config, and
    the server's own create / share / transition code applied to corpus items."""

    def __init__(self, config: Path) -> None:
        from baobab.asgi.state import start
        from baobab.config.settings import load_settings

        self.state = start(load_settings(str(config)))
        import transaction

        self.tm = transaction.TransactionManager(explicit=False)
        self.db = self.state.databases["db"]
        self.conn = self.db.open(self.tm)
        from baobab.database.transactions import ROOT_KEY

        self.site = self.conn.root()[ROOT_KEY]["site"]
        self.folders: dict[str, Any] = {"": self.site}

    def close(self) -> None:
        from baobab.asgi.state import stop

        self.tm.abort()
        self.conn.close()
        stop(self.state)

    def add(self, item: dict[str, Any], folders: dict[str, Any] | None = None) -> Any:
        from baobab.catalog.follow import follow
        from baobab.content import operations
        from baobab.events.classes import ObjectAdded
        from baobab.events.snapshot import object_event
        from baobab.security import lifecycle

        registry, policy = self.state.registry, self.state.policy
        data: dict[str, Any] = {
            "@type": item["type"],
            "title": item["title"],
            "description": item["description"],
            "subjects": item["subjects"],
        }
        if item["id"] is not None:
            data["id"] = item["id"]
        if item["type"] == "Document":
            data["text"] = item["text"]
        elif item["type"] == "File":
            data["file"] = {
                "data": corpus.file_data(item).decode(),
                "encoding": "utf8",
                "filename": item["id"] + ".txt",
                "content-type": "text/plain",
            }
        folders = self.folders if folders is None else folders
        parent = folders[item["parent_path"]]
        actor = ACTOR
        obj = operations.create(registry, parent, data, actor)
        lifecycle.created(policy, obj, actor)
        follow(object_event(ObjectAdded, obj, actor), registry)
        self.share(obj, item["local_roles"])
        self.enter_state(obj, item["review_state"])
        if item["type"] == "Folder":
            folders[item["path"]] = obj
        return obj

    def share(self, obj: Any, grants: dict[str, list[str]]) -> None:
        from baobab.security.indexing import reindex
        from baobab.security.sharing import set_local_roles

        if not grants:
            return
        for user, roles in grants.items():
            set_local_roles(obj, user, [ROLE[r] for r in roles])
        reindex(self.state.policy, obj)

    def enter_state(self, obj: Any, state: str) -> None:
        """The transition that leads from the initial state to ``state``, applied as
        ``transitions.do_transition`` applies it (without its guard: the loader is root)."""
        from baobab.security.indexing import reindex
        from baobab.security.transitions import _apply, _record

        name = TRANSITION.get(state)
        if name is None:
            return
        workflow = self.state.policy.workflows.for_type(obj.type_name)
        assert workflow is not None
        target = workflow.states[workflow.transitions[name].new_state]
        _apply(obj, workflow, target)
        _record(obj, name, ACTOR, "")
        reindex(self.state.policy, obj)

    def load(self, n: int, seed: int) -> float:
        total = n + corpus.FOLDERS
        start = last = time.perf_counter()
        for count, item in enumerate(corpus.iter_items(n, seed), 1):
            self.add(item)
            if count % 1000 == 0 or count == total:
                self.tm.commit()
                self.conn.cacheGC()
                now = time.perf_counter()
                if count % 10_000 == 0 or count == total:
                    rate = 1000 / (now - last)
                    eta = (total - count) / rate
                    print(f"  {count:>7} objects, {rate:6.0f}/s, ETA {eta:5.0f} s", flush=True)
                last = now
        return time.perf_counter() - start


# --- 3. write cost and size, in-process ------------------------------------------------------


def records(
    storage: Any, tid: bytes, owner: dict[bytes, str], parts: dict[str, int]
) -> tuple[int, int, int]:
    """Records the last transaction wrote: all, the catalog's, bytes (a new record is the
    catalog's when a catalog record of the transaction references it: a new bucket).
    ``owner``: oid → catalog part, grown with the new records; ``parts`` counts the
    catalog's records by part."""
    from ZODB.serialize import referencesf

    recs = {r.oid: r.data for r in next(iter(storage.iterator(tid, tid)))}
    todo = [oid for oid in recs if oid in owner]
    while todo:
        oid = todo.pop()
        for ref in referencesf(recs[oid]):
            if ref in recs and ref not in owner:
                owner[ref] = owner[oid]
                todo.append(ref)
    ours = [owner[oid] for oid in recs if oid in owner]
    for part in ours:
        parts[part] = parts.get(part, 0) + 1
    return len(recs), len(ours), sum(map(len, recs.values()))


@contextmanager
def catalog_off() -> Iterator[None]:
    """The same writes without the catalog: the queue is never made, nothing is indexed."""
    from baobab.catalog import follow, queue
    from baobab.security import indexing

    saved = queue.queue_for
    for module in (follow, indexing):
        module.queue_for = lambda obj, registry: None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in (follow, indexing):
            module.queue_for = saved  # type: ignore[attr-defined]


@contextmanager
def timed_flush(into: list[float]) -> Iterator[None]:
    """Record how long each flush of the indexing queue takes (the index cost proper)."""
    from baobab.catalog.queue import IndexQueue

    original = IndexQueue.flush

    def flush(self: IndexQueue) -> None:
        t0 = time.perf_counter()
        original(self)
        into.append(time.perf_counter() - t0)

    IndexQueue.flush = flush  # type: ignore[method-assign]
    try:
        yield
    finally:
        IndexQueue.flush = original  # type: ignore[method-assign]


def pcts(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {"p50": None, "p99": None}
    ms = sorted(s * 1000 for s in samples)
    return {"p50": statistics.median(ms), "p99": ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]}


def write_items(count: int, seed: int, folder: str) -> list[dict[str, Any]]:
    """``count`` Documents like the corpus's: the same seed, so the same vocabulary (the
    corpus draws it first), but another ``n``, so other draws of titles and texts."""
    out = []
    for item in corpus.iter_items(count * 2, seed):
        if item["type"] != "Document":
            continue
        out.append({**item, "parent_path": folder, "local_roles": {}, "review_state": "private"})
    return out[:count]


def measure_writes(loader: Loader, count: int, seed: int) -> dict[str, Any]:
    """Create ``count`` Documents then PATCH each, one transaction each, with and without
    the catalog: ms per operation (commit included), ms of the queue's flush, records."""
    from baobab.catalog.follow import follow
    from baobab.content import operations
    from baobab.events.classes import ObjectModified
    from baobab.events.snapshot import object_event

    storage = loader.db.storage
    tm = loader.tm
    out: dict[str, Any] = {}
    for label in ("catalog", "no catalog"):
        folder_id = f"{WRITES_FOLDER}-{label.replace(' ', '-')}-{time.time_ns()}"
        loader.add(
            {
                "type": "Folder",
                "id": folder_id,
                "path": "/" + folder_id,
                "parent_path": "",
                "title": "Writes",
                "description": "",
                "subjects": [],
                "local_roles": {},
                "review_state": "published",
            }
        )
        tm.commit()
        owner = dict(catalog_parts(loader))
        items = write_items(count, seed, "/" + folder_id)
        rows: dict[str, dict[str, Any]] = {}
        flushes: list[float] = []
        objs = []
        with timed_flush(flushes), catalog_off() if label == "no catalog" else nullctx():
            for kind in ("create", "patch"):
                times: list[float] = []
                recs: list[float] = []
                ours: list[float] = []
                size: list[float] = []
                flushes.clear()
                by_part: dict[str, int] = {}
                for n, item in enumerate(items):
                    t0 = time.perf_counter()
                    if kind == "create":
                        objs.append(loader.add(item))
                    else:
                        obj = objs[n]
                        data = {"title": item["title"] + " (edited)", "description": f"Rev {n}"}
                        operations.update(loader.state.registry, obj, data, ACTOR)
                        event = object_event(ObjectModified, obj, ACTOR, changed=tuple(data))
                        follow(event, loader.state.registry)
                    tm.commit()
                    times.append(time.perf_counter() - t0)
                    a, c, b = records(storage, storage.lastTransaction(), owner, by_part)
                    recs.append(a)
                    ours.append(c)
                    size.append(b)
                rows[kind] = {
                    "parts": {k: v / len(items) for k, v in by_part.items()},
                    "ms": times,
                    "flush_ms": list(flushes),
                    "records": recs,
                    "catalog_records": ours,
                    "bytes": size,
                }
        out[label] = {
            kind: {
                "ms": pcts(r["ms"]),
                "flush_ms": pcts(r["flush_ms"]),
                "records_median": statistics.median(r["records"]),
                "records_max": max(r["records"]),
                "catalog_records_median": statistics.median(r["catalog_records"]),
                "catalog_records_max": max(r["catalog_records"]),
                "bytes_median": statistics.median(r["bytes"]),
                "catalog_records_by_part": dict(sorted(r["parts"].items(), key=lambda kv: -kv[1])),
            }
            for kind, r in rows.items()
        }
    return out


@contextmanager
def nullctx() -> Iterator[None]:
    yield


def measure_size(loader: Loader, fs_path: Path) -> dict[str, Any]:
    from baobab.catalog.store import catalog_of

    loader.tm.commit()
    before = fs_path.stat().st_size
    loader.db.pack()
    after = fs_path.stat().st_size
    catalog = catalog_of(loader.site)
    assert catalog is not None
    sizes = reachable(loader.db.storage, catalog._p_oid)
    parts = {}
    for name in ("docids", "metadata", "paths"):
        part = getattr(catalog, name)
        parts[name] = sum(reachable(loader.db.storage, part._p_oid).values())
    for name, index in catalog.indexes.items():
        parts[name] = sum(reachable(loader.db.storage, index._p_oid).values())
    return {
        "fs_before_pack": before,
        "fs_after_pack": after,
        "catalog_records": len(sizes),
        "catalog_bytes": sum(sizes.values()),
        "catalog_entries": len(catalog),
        "parts": parts,
    }


def catalog_parts(loader: Loader) -> dict[bytes, str]:
    """oid → the catalog part (index name, ``metadata``, ``paths``…) it belongs to."""
    from baobab.catalog.store import catalog_of

    catalog = catalog_of(loader.site)
    assert catalog is not None
    storage = loader.db.storage
    owner: dict[bytes, str] = {catalog._p_oid: "catalog", catalog.count._p_oid: "count"}
    named = {"docids": catalog.docids, "metadata": catalog.metadata, "paths": catalog.paths}
    for name, part in [*named.items(), *catalog.indexes.items()]:
        for oid in reachable(storage, part._p_oid):
            owner.setdefault(oid, name)
    return owner


def probe_conflicts(loader: Loader, rounds: int, writers: int, seed: int) -> dict[str, Any]:
    """``writers`` connections each create a Document in its own folder, then commit one
    after the other (ZODB's conflict resolution applies): which objects conflict, how often.
    The in-process, deterministic version of (d), to find the hot spots."""
    import transaction
    from ZODB.POSException import ConflictError

    from baobab.database.transactions import ROOT_KEY

    owner = catalog_parts(loader)
    folders = writer_folders(writers)
    items = write_items(rounds * writers, seed, "")
    conns = []
    for k in range(writers):
        tm = transaction.TransactionManager(explicit=False)
        conn = loader.db.open(tm)
        site = conn.root()[ROOT_KEY]["site"]
        folder = site
        for name in folders[k].strip("/").split("/"):
            folder = folder[name]
        conns.append((tm, conn, {"": site, folders[k]: folder}, folders[k]))
    seen: dict[str, int] = {}
    failed = 0
    for r in range(rounds):
        for k, (tm, _conn, fmap, path) in enumerate(conns):
            tm.begin()
            item = items[(r * writers + k) % len(items)]
            # no id: made from the title, as for a POST without one
            loader.add({**item, "id": None, "parent_path": path}, fmap)
        for tm, _conn, _, _ in conns:
            try:
                tm.commit()
            except ConflictError as exc:
                failed += 1
                oid = exc.oid or b""
                where = f"{owner.get(oid, 'new or content')}:{exc.class_name}"
                seen[where] = seen.get(where, 0) + 1
                tm.abort()
    for tm, conn, _, _ in conns:
        tm.abort()
        conn.close()
    loader.tm.abort()  # see the probe's commits
    total = rounds * writers
    out = {"transactions": total, "conflicts": failed, "where": seen}
    print(
        f"\nconflict probe: {writers} concurrent creates x {rounds} rounds: {failed} of {total} "
        f"conflicted ({100 * failed / total:.1f} %)"
    )
    for where, count in sorted(seen.items(), key=lambda kv: -kv[1]):
        print(f"  {count:5} {where}")
    return out


def inprocess_queries(loader: Loader, rounds: int, profile: bool) -> dict[str, Any]:
    """The three queries as ``@search`` runs them (parse, execute, read the window's
    metadata), in-process, as alice: the server's share of (a)–(c); ``profile``: cProfile's
    top functions for each."""
    import cProfile
    import pstats

    from baobab.catalog.params import parse_search
    from baobab.catalog.query import execute
    from baobab.catalog.store import catalog_of
    from baobab.location import resource_path
    from baobab.security.principals import Principal

    catalog = catalog_of(loader.site)
    assert catalog is not None
    registry = loader.state.registry
    site_path = resource_path(loader.site)
    tokens = sorted(Principal(corpus.BENCH_USER).tokens)
    out: dict[str, Any] = {}

    def run(params: dict[str, str]) -> int:
        search = parse_search(
            ((k, v) for k, v in params.items() if k != "b_size"), registry, site_path, site_path
        )
        results = execute(catalog, search, tokens, 0, int(params.get("b_size", "25")))
        for docid in results.docids:
            catalog.paths.path_of(docid)
            catalog.metadata.get(docid)
        return results.total

    for name, params in corpus.QUERIES.items():
        for _ in range(3):
            total = run(params)
        samples = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            run(params)
            samples.append(time.perf_counter() - t0)
        out[name] = {**pcts(samples), "items_total": total}
        print(
            f"  {name:9} in-process p50 {out[name]['p50']:7.2f} ms p99 {out[name]['p99']:7.2f}"
            f" ms, items_total {total}"
        )
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(20):
                run(params)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(12)
    return out


# --- 4. over HTTP ----------------------------------------------------------------------------


def login(port: int, principal_login: str, password: str) -> str:
    with base.api(port) as http:
        token: str = send_sync(http, login_call(SITE, principal_login, password))
        return token


def search_url(params: dict[str, str]) -> str:
    return f"{SITE}/@search?" + urllib.parse.urlencode(params)


def get(conn: http.client.HTTPConnection, url: str, token: str) -> tuple[int, bytes]:
    conn.request("GET", url, headers={"Authorization": f"Bearer {token}"})
    resp = conn.getresponse()
    return resp.status, resp.read()


def measure_queries(
    port: int, token: str, rounds: int, warmup: int, expected: dict[str, int]
) -> dict[str, Any]:
    checks = {
        "folder": expected["alice_folder_query"],
        "sitewide": expected["sitewide_query"],
        "fulltext": expected["alice_fulltext"],
    }
    out: dict[str, Any] = {}
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        for name, params in corpus.QUERIES.items():
            url = search_url(params)
            for _ in range(warmup):
                status, body = get(conn, url, token)
            if status != 200:
                raise SystemExit(f"{url}: {status} {body[:500]!r}")
            data = json.loads(body)
            samples = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                get(conn, url, token)
                samples.append(time.perf_counter() - t0)
            total = data["items_total"]
            out[name] = {
                "url": url,
                **pcts(samples),
                "items_total": total,
                "expected": checks[name],
                "items": len(data["items"]),
            }
            ok = "as expected" if total == checks[name] else f"EXPECTED {checks[name]}"
            print(
                f"  {name:9} p50 {out[name]['p50']:7.2f} ms  p99 {out[name]['p99']:7.2f} ms"
                f"  items_total {total} ({ok}), {len(data['items'])} items",
                flush=True,
            )
    finally:
        conn.close()
    return out


def measure_creates(
    port: int, token: str, writers: int, duration: float, folders: list[str], *, seed: int
) -> dict[str, Any]:
    """``writers`` threads, each POSTing Documents into its own folder for ``duration``."""
    items = write_items(2000, seed, "")
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + duration
    barrier = threading.Barrier(writers)

    def writer(k: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        path = SITE + folders[k % len(folders)]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        mine: dict[int, int] = {}
        lat: list[float] = []
        n = k
        barrier.wait()
        while time.monotonic() < stop_at:
            item = items[n % len(items)]
            n += writers
            body = json.dumps(
                {
                    "@type": "Document",
                    "title": item["title"],
                    "description": item["description"],
                    "text": item["text"],
                    "subjects": item["subjects"],
                }
            )
            t0 = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            lat.append(time.perf_counter() - t0)
            mine[resp.status] = mine.get(resp.status, 0) + 1
        conn.close()
        with lock:
            for status, count in mine.items():
                statuses[status] = statuses.get(status, 0) + count
            latencies.extend(lat)

    t0 = time.monotonic()
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    total = sum(statuses.values())
    conflicts = statuses.get(409, 0)
    out: dict[str, Any] = {
        "requests": total,
        "rps": total / wall,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "share_409": conflicts / total if total else None,
        **pcts(latencies),
    }
    print(
        f"  {writers} writers, {wall:.0f} s: {total} requests, {out['rps']:.0f}/s, "
        f"statuses {out['statuses']}, 409 share {100 * (out['share_409'] or 0):.2f} %, "
        f"p50 {out['p50']:.1f} ms p99 {out['p99']:.1f} ms",
        flush=True,
    )
    return out


def writer_folders(writers: int) -> list[str]:
    """One folder per writer: corpus folders other than the big one, where alice may add
    (Editor there is not enough: creates run as root, the benchmark measures contention)."""
    paths = [item["path"] for item in corpus.iter_items(0) if item["path"] != corpus.BIG_FOLDER]
    return paths[:writers]


def serve_phase(
    args: argparse.Namespace,
    config: Path,
    workdir: Path,
    *,
    expected: dict[str, int],
    queries: bool,
    mode: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {"threads_mode": mode}
    with base.running_server(config, workdir) as server:
        port = server.port
        if queries:
            alice = login(port, corpus.BENCH_USER, ALICE_PASSWORD)
            print(f"\nqueries as alice, {args.rounds} rounds after {args.warmup} warm-up:")
            out["queries"] = measure_queries(port, alice, args.rounds, args.warmup, expected)
        if args.duration > 0:
            root = base.root_token(port)
            print(f"\nconcurrent creates (threads.mode={mode}):")
            folders = writer_folders(args.writers)
            out["creates"] = measure_creates(
                port, root, args.writers, args.duration, folders, seed=args.seed
            )
    return out


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--docs", type=int, default=corpus.DEFAULT_N, help="items (default 100000)")
    p.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    p.add_argument("--rounds", type=int, default=300, help="measured requests per query")
    p.add_argument("--warmup", type=int, default=30, help="unmeasured requests per query")
    p.add_argument("--writes", type=int, default=200, help="in-process creates and PATCHes")
    p.add_argument("--writers", type=int, default=16, help="concurrent creating clients")
    p.add_argument("--duration", type=float, default=30, help="seconds of concurrent creates")
    p.add_argument(
        "--d-modes",
        nargs="*",
        default=["inline", "pool"],
        help="threads.mode of each server run (queries in the first)",
    )
    p.add_argument("--pool-size", type=int, default=4, help="threads.pool_size in pool mode")
    p.add_argument("--probe", type=int, default=20, help="rounds of the conflict probe")
    p.add_argument("--reuse", type=Path, help="a var dir kept by --keep: skip creating and loading")
    p.add_argument("--profile", action="store_true", help="cProfile the in-process queries")
    p.add_argument("--keep", action="store_true", help="keep the var dir (and Data.fs)")
    p.add_argument("--no-json", action="store_true", help="do not write bench/results/")
    return p.parse_args(argv)


def report_writes(writes: dict[str, Any]) -> None:
    print("\nindex cost per write (one transaction each, commit included):")
    for label, kinds in writes.items():
        for kind, r in kinds.items():
            flush = r["flush_ms"]["p50"]
            flush_text = "" if flush is None else f", flush p50 {flush:.2f} ms"
            print(
                f"  {label:10} {kind:6} p50 {r['ms']['p50']:6.2f} ms p99 {r['ms']['p99']:6.2f}"
                f"{flush_text}; records median {r['records_median']:.0f} (max "
                f"{r['records_max']}), catalog's {r['catalog_records_median']:.0f} (max "
                f"{r['catalog_records_max']}), {r['bytes_median'] / 1024:.1f} KiB"
            )
            parts = r["catalog_records_by_part"]
            if parts:
                print(
                    "    catalog records per write: "
                    + ", ".join(f"{k} {v:.1f}" for k, v in parts.items())
                )


def report_size(size: dict[str, Any], docs: int) -> None:
    mb = 1e6
    print(
        f"\nsize: Data.fs {size['fs_before_pack'] / mb:.1f} MB before pack, "
        f"{size['fs_after_pack'] / mb:.1f} MB after; catalog {size['catalog_records']} records, "
        f"{size['catalog_bytes'] / mb:.1f} MB of pickles for {size['catalog_entries']} entries "
        f"({size['catalog_bytes'] / mb * 100_000 / max(1, docs):.1f} MB per 100k); "
        f"the rest {(size['fs_after_pack'] - size['catalog_bytes']) / mb:.1f} MB"
    )
    parts = sorted(size["parts"].items(), key=lambda kv: -kv[1])
    print("  " + ", ".join(f"{k} {v / mb:.1f}" for k, v in parts) + " (MB)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.reuse or Path(tempfile.mkdtemp(prefix="baobab-catalog-bench-"))
    data: dict[str, Any] = {}
    try:
        config = base.write_config(workdir, "filestorage", "auto", args.pool_size)
        if args.reuse is None:
            principal = make_site(config, workdir)
            print(f"site {SITE} and user {corpus.BENCH_USER} (principal {principal!r}) created")
        expected = corpus.summary(args.docs, args.seed)
        print(f"corpus: {expected}")
        loader = Loader(config)
        try:
            if args.reuse is None:
                print(f"\nloading {args.docs} items + {corpus.FOLDERS} folders in-process:")
                seconds = loader.load(args.docs, args.seed)
                per_s = (args.docs + corpus.FOLDERS) / seconds
                data["load"] = {"seconds": seconds, "per_s": per_s}
                print(f"  loaded in {seconds:.0f} s ({per_s:.0f} objects/s)")
                data["size"] = measure_size(loader, workdir / "db.fs")
                report_size(data["size"], args.docs)
            print("\nqueries in-process (the server's share):")
            data["inprocess"] = inprocess_queries(loader, args.rounds, args.profile)
            if args.probe:
                data["probe"] = probe_conflicts(loader, args.probe, args.writers, args.seed)
            if args.writes:
                data["writes"] = measure_writes(loader, args.writes, args.seed)
                report_writes(data["writes"])
        finally:
            loader.close()
        phases = []
        for n, mode in enumerate(args.d_modes):
            cfg = base.write_config(workdir, "filestorage", mode, args.pool_size)
            phases.append(
                serve_phase(args, cfg, workdir, expected=expected, queries=n == 0, mode=mode)
            )
        data["serve"] = phases
    finally:
        if args.keep or args.reuse:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if not args.no_json:
        base.write_results(args, f"catalog-{args.docs}", data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
