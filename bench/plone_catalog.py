"""Issue 13's catalog benchmark against Plone 6 and its ZCatalog, for comparison with Baobab.

Run by hand with a separate virtualenv that has Plone (never Baobab's: Plone is no
dependency of this project)::

    python3 -m venv /work/plone-venv && /work/plone-venv/bin/pip install Plone
    /work/plone-venv/bin/python bench/plone_catalog.py --n 10000    # throw-away instance
    /work/plone-venv/bin/python bench/plone_catalog.py --n 20000 --keep /work/plone-20k
    /work/plone-venv/bin/python bench/plone_catalog.py --reuse /work/plone-20k   # again

Loading costs Plone about 34 ms of CPU per object: 20,000 items take 12 CPU-minutes,
100,000 would take about an hour. ``--reuse`` measures a kept instance again (each pass
adds its ``--writes`` Documents to it; the expected counts follow).

It writes a minimal ``zope.conf`` (one FileStorage) in a temporary instance directory,
starts Zope in this process (``Zope2.Startup.run.make_wsgi_app``, as ``zconsole`` does),
adds a Plone site with ``plone.app.contenttypes`` and ``plone.restapi``, and loads the
corpus of ``bench/catalog_corpus.py`` the way Plone code does: ``invokeFactory``, local
roles with ``manage_setLocalRoles`` + ``reindexObjectSecurity``, workflow transitions with
``portal_workflow.doActionFor``; the indexing queue is flushed at each commit (every 1,000
items). ``File`` gets ``simple_publication_workflow`` too (Plone's default leaves it
without a workflow, so it would follow its folder), as Baobab gives every type one.

Then, as ``alice`` (her own security manager, so ``searchResults`` adds her
``allowedRolesAndUsers``), it times each query of ``catalog_corpus.QUERIES``:

- **catalog**: the query translated exactly as plone.restapi's ``@search`` does
  (``SearchHandler._constrain_query_by_path`` and ``_parse_query``), then
  ``portal_catalog.searchResults(**query)``, its ``actual_result_count`` (``items_total``) and
  the title, description, review state, type, UID and path of the first 25 brains;
- **@search**: ``SearchHandler(site, request).search(params)``, the body of plone.restapi's
  ``@search`` service (serialization of the batch included, ``json.dumps`` of it too), in
  process: no HTTP, traversal or authentication;
- **HTTP**: ``GET /plone/@search?…`` with alice's Basic credentials as a WSGI environ handed
  to Zope's WSGI application in process: publishing, traversal, PAS, plone.rest and the
  JSON body, everything but a socket and a server.

Finally, as a Manager, it creates 200 Documents one per transaction (a REST create: add,
publish, commit) in a new folder and reports per write the time to create, to index (the
flush of the indexing queue, ``Products.CMFCore.indexing.processQueue``; and all the time
spent in ``Catalog.catalogObject`` wherever the queue was flushed) and to commit, and
the records the transaction wrote (all, and those reachable from ``portal_catalog``), then
packs and reports the FileStorage's size and the catalog's share of it.

The ZODB cache is warm for the query timings (each query runs ``--warmup`` times first) and
holds ``--cache-size`` objects.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from catalog_corpus import BENCH_USER, QUERIES, USERS, file_data, iter_items, summary
from zodb_sizes import reachable

SITE = "plone"
WSGI_APP: Any = None  # Zope's WSGI application, for the requests published in process
ZOPE_CONF = """\
%define INSTANCE {instance}
instancehome $INSTANCE
<zodb_db main>
   <filestorage>
     path $INSTANCE/var/Data.fs
     blob-dir $INSTANCE/var/blobs
   </filestorage>
   mount-point /
   cache-size {cache_size}
</zodb_db>
<environment>
  CHAMELEON_CACHE $INSTANCE/var/cache
</environment>
"""


def start_zope(instance: Path, cache_size: int) -> Any:
    """Zope configured from a minimal zope.conf; the application root under a fake request."""
    (instance / "etc").mkdir(parents=True, exist_ok=True)
    (instance / "var" / "cache").mkdir(parents=True, exist_ok=True)
    conf = instance / "etc" / "zope.conf"
    conf.write_text(ZOPE_CONF.format(instance=instance, cache_size=cache_size))
    import Zope2
    from AccessControl.SecurityManagement import newSecurityManager
    from AccessControl.users import system
    from Testing.makerequest import makerequest
    from zope.globalrequest import setRequest
    from Zope2.Startup.run import make_wsgi_app

    global WSGI_APP
    WSGI_APP = make_wsgi_app({}, str(conf))
    app = makerequest(Zope2.app())
    app.REQUEST["PARENTS"] = [app]
    setRequest(app.REQUEST)
    newSecurityManager(None, system)
    return app


def add_site(app: Any) -> Any:
    import transaction
    from Products.CMFPlone.factory import addPloneSite

    site = addPloneSite(
        app,
        SITE,
        extension_ids=["plone.app.contenttypes:default", "plone.restapi:default"],
        setup_content=False,
    )
    site.portal_workflow.setChainForPortalTypes(("File",), ("simple_publication_workflow",))
    for user in [BENCH_USER, *USERS]:
        site.acl_users._doAddUser(user, "secret-" + user, ["Member"], [])
    transaction.commit()
    return site


def make(parent: Any, item: dict[str, Any]) -> Any:
    """One corpus item the way Plone code adds it: invokeFactory, sharing, workflow."""
    from plone.app.textfield.value import RichTextValue
    from plone.namedfile.file import NamedBlobFile

    fields: dict[str, Any] = {
        "title": item["title"],
        "description": item["description"],
        "subject": tuple(item["subjects"]),
    }
    if item["type"] == "Document":
        fields["text"] = RichTextValue(item["text"], "text/plain", "text/html")
    elif item["type"] == "File":
        fields["file"] = NamedBlobFile(file_data(item), "text/plain", item["id"] + ".txt")
    parent.invokeFactory(item["type"], item["id"], **fields)
    obj = parent._getOb(item["id"])
    for user, roles in item["local_roles"].items():
        obj.manage_setLocalRoles(user, roles)
    if item["local_roles"]:
        obj.reindexObjectSecurity()
    transition = {"published": "publish", "pending": "submit"}.get(item["review_state"])
    if transition:
        obj.portal_workflow.doActionFor(obj, transition)
    return obj


def load(site: Any, n: int, seed: int) -> float:
    """Loads the corpus, committing every 1,000 items; returns the seconds it took."""
    import transaction

    folders: dict[str, Any] = {"": site}
    start = last = time.perf_counter()
    cpu_start = cpu_last = time.process_time()
    for count, item in enumerate(iter_items(n, seed), 1):
        obj = make(folders[item["parent_path"]], item)
        if item["type"] == "Folder":
            folders[item["path"]] = obj
        if count % 1000 == 0:
            transaction.commit()
            now, cpu = time.perf_counter(), time.process_time()
            rate = 1000 / (now - last)
            eta = (n + 200 - count) / rate
            print(
                f"  {count:>7} objects, {rate:4.0f}/s, {(cpu - cpu_last):5.1f} ms CPU each, "
                f"ETA {eta:5.0f} s",
                flush=True,
            )
            last, cpu_last = now, cpu
    transaction.commit()
    cpu = time.process_time() - cpu_start
    print(f"  CPU {cpu:.0f} s: {cpu / (n + 200) * 1000:.1f} ms per object")
    return time.perf_counter() - start


def as_user(site: Any, user_id: str) -> None:
    from AccessControl.SecurityManagement import newSecurityManager

    user = site.acl_users.getUserById(user_id)
    newSecurityManager(site.REQUEST, user.__of__(site.acl_users))


def catalog_query(site: Any, params: dict[str, str]) -> dict[str, Any]:
    """The catalog query plone.restapi's @search makes of these parameters."""
    from plone.restapi.search.handler import SearchHandler
    from plone.restapi.search.utils import unflatten_dotted_dict

    query = unflatten_dotted_dict(site_params(params))
    handler = SearchHandler(site, site.REQUEST)
    handler._constrain_query_by_path(query)
    return dict(handler._parse_query(query))


def site_params(params: dict[str, str]) -> dict[str, str]:
    """The corpus's site-relative ``path.query`` made a physical path, as clients send it."""
    if "path.query" in params:
        return {**params, "path.query": f"/{SITE}{params['path.query']}"}
    return dict(params)


def run_catalog(site: Any, query: dict[str, Any]) -> int:
    results = site.portal_catalog.searchResults(**query)
    for brain in results[:25]:
        _ = (brain.Title, brain.Description, brain.review_state, brain.portal_type, brain.UID)
        _ = brain.getPath()
    return int(results.actual_result_count)  # what plone.restapi reports as items_total


def run_search(site: Any, params: dict[str, str]) -> int:
    from plone.restapi.search.handler import SearchHandler
    from plone.restapi.search.utils import unflatten_dotted_dict

    request = site.REQUEST
    request.form = site_params(params)  # the batch reads b_start and b_size from the form
    result = SearchHandler(site, request).search(unflatten_dotted_dict(dict(request.form)))
    json.dumps(result)
    return int(result["items_total"])


def timed(call: Any) -> tuple[float, float, Any]:
    """Wall and CPU seconds (this thread's) of ``call()``, and its result.

    The CPU time is the figure to compare on a shared machine: the wall time includes
    whatever other processes took of the cores meanwhile.
    """
    wall, cpu = time.perf_counter(), time.thread_time()
    result = call()
    return time.perf_counter() - wall, time.thread_time() - cpu, result


def run_http(params: dict[str, str]) -> int:
    """``GET /plone/@search?…`` as alice (Basic), published by Zope's WSGI app in process."""
    import base64
    import io
    from urllib.parse import urlencode

    credentials = base64.b64encode(f"{BENCH_USER}:secret-{BENCH_USER}".encode()).decode()
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": f"/{SITE}/@search",
        "QUERY_STRING": urlencode(site_params(params)),
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost:8080",
        "HTTP_ACCEPT": "application/json",
        "HTTP_AUTHORIZATION": f"Basic {credentials}",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }
    from AccessControl.SecurityManagement import getSecurityManager, setSecurityManager
    from zope.component.hooks import getSite, setSite
    from zope.globalrequest import getRequest, setRequest

    # The publisher ends each request by dropping the thread's user, site and request.
    saved = getSecurityManager(), getSite(), getRequest()
    status: list[str] = []
    try:
        body = b"".join(WSGI_APP(environ, lambda s, headers, exc_info=None: status.append(s)))
    finally:
        setSecurityManager(saved[0])
        setSite(saved[1])
        setRequest(saved[2])
    if not status[0].startswith("200"):
        raise RuntimeError(f"@search answered {status[0]}: {body[:300]!r}")
    return int(json.loads(body)["items_total"])


def percentiles(samples: list[tuple[float, float]]) -> str:
    """p50 and p99 of the wall and the CPU milliseconds."""
    out = []
    for label, values in (("wall", [s[0] for s in samples]), ("CPU", [s[1] for s in samples])):
        ms = sorted(v * 1000 for v in values)
        p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
        out.append(f"{label} p50 {statistics.median(ms):7.2f} p99 {p99:7.2f}")
    return "   ".join(out) + " ms"


def measure_queries(site: Any, rounds: int, warmup: int, expected: dict[str, int]) -> None:
    as_user(site, BENCH_USER)
    checks = {
        "folder": expected["alice_folder_query"],
        "sitewide": expected["sitewide_query"],
        "fulltext": expected["alice_fulltext"],
    }
    for name, params in QUERIES.items():
        query = catalog_query(site, params)
        print(f"\n{name}: {json.dumps(params)}\n  catalog query: {query!r}")
        for kind, call in (
            ("catalog", lambda q=query: run_catalog(site, q)),
            ("@search", lambda p=params: run_search(site, p)),
            ("HTTP", lambda p=params: run_http(p)),
        ):
            for _ in range(warmup):
                total = call()
            samples = [timed(call)[:2] for _ in range(rounds)]
            ok = "as expected" if total == checks[name] else f"EXPECTED {checks[name]}"
            print(f"  {kind:8} {percentiles(samples)}   items_total {total} ({ok})")


def records(
    storage: Any, tid: bytes, catalog_oids: set[bytes], classes: Counter[str]
) -> tuple[int, int, int]:
    """Records the transaction wrote: all, those of the catalog, bytes; counts their classes.

    A record is the catalog's if its object was reachable from ``portal_catalog`` or is new
    and referenced by a catalog record of this transaction (a new bucket); ``catalog_oids``
    grows accordingly.
    """
    from ZODB.serialize import referencesf
    from ZODB.utils import get_pickle_metadata

    recs = {r.oid: r.data for r in next(iter(storage.iterator(tid, tid)))}
    todo = [oid for oid in recs if oid in catalog_oids]
    while todo:
        for ref in referencesf(recs[todo.pop()]):
            if ref in recs and ref not in catalog_oids:
                catalog_oids.add(ref)
                todo.append(ref)
    ours = sum(oid in catalog_oids for oid in recs)
    for oid, data in recs.items():
        module, name = get_pickle_metadata(data)
        classes[f"{'catalog ' if oid in catalog_oids else ''}{module}.{name}"] += 1
    return len(recs), ours, sum(len(data) for data in recs.values())


def measure_writes(site: Any, count: int) -> None:
    import transaction
    from AccessControl.SecurityManagement import newSecurityManager
    from AccessControl.users import system
    from Products.CMFCore.indexing import processQueue
    from Products.ZCatalog.Catalog import Catalog

    # All indexing, wherever the queue is flushed (a search during the create flushes it too).
    in_catalog = [0, 0.0]  # calls, CPU seconds
    original = Catalog.catalogObject

    def catalog_object(self: Any, *args: Any, **kw: Any) -> Any:
        start = time.thread_time()
        try:
            return original(self, *args, **kw)
        finally:
            in_catalog[0] += 1
            in_catalog[1] += time.thread_time() - start

    Catalog.catalogObject = catalog_object
    newSecurityManager(None, system)
    storage = site._p_jar.db().storage
    folder = site[site.invokeFactory("Folder", f"writes-{time.time_ns()}", title="Writes")]
    transaction.commit()
    catalog_oids = set(reachable(storage, site.portal_catalog._p_oid))
    times: dict[str, list[tuple[float, float]]] = {"create": [], "index": [], "commit": []}
    written: list[tuple[int, int, int]] = []
    classes: Counter[str] = Counter()
    for i in range(count):
        item = {
            "id": f"write-{i:04d}",
            "type": "Document",
            "title": f"Write number {i}",
            "description": "A document created by the write benchmark",
            "text": "Some words to index " * 20,
            "subjects": ["Benchmark"],
            "local_roles": {},
            "review_state": "published",
        }
        times["create"].append(timed(lambda item=item: make(folder, item))[:2])
        times["index"].append(timed(processQueue)[:2])
        times["commit"].append(timed(transaction.commit)[:2])
        written.append(records(storage, storage.lastTransaction(), catalog_oids, classes))
    Catalog.catalogObject = original
    print(f"\nwrites: {count} Documents, one transaction each (add + publish)")
    print(
        f"  Catalog.catalogObject: {in_catalog[0] / count:.1f} calls per write, "
        f"{in_catalog[1] / count * 1000:.2f} ms CPU per write (mean)"
    )
    for name, samples in times.items():
        print(f"  {name:7} {percentiles(samples)}")
    for i, label in enumerate(("records written", "of them catalog records", "bytes written")):
        values = [w[i] for w in written]
        print(f"  {label:24} median {statistics.median(values):8.0f}   max {max(values):8.0f}")
    print("  records per write by class (catalog: reachable from portal_catalog):")
    for name, records_ in classes.most_common(15):
        print(f"    {records_ / count:6.1f}  {name}")


def measure_size(app: Any, site: Any, path: Path) -> None:
    import transaction

    transaction.commit()
    db = app._p_jar.db()
    before = path.stat().st_size
    db.pack()
    after = path.stat().st_size
    catalog = reachable(db.storage, site.portal_catalog._p_oid)
    print(f"\nData.fs: {before / 1e6:.1f} MB before pack, {after / 1e6:.1f} MB after")
    print(
        f"  portal_catalog: {len(catalog)} records, {sum(catalog.values()) / 1e6:.1f} MB of "
        f"pickles; everything else {(after - sum(catalog.values())) / 1e6:.1f} MB "
        "(record headers included; blobs are outside Data.fs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="corpus items (default 10,000)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--rounds", type=int, default=200, help="timed runs per query")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--cache-size", type=int, default=400_000, help="ZODB cache, objects")
    parser.add_argument("--keep", type=Path, help="instance directory to create and keep")
    parser.add_argument("--reuse", type=Path, help="instance directory of an earlier --keep")
    args = parser.parse_args()

    instance = args.reuse or args.keep or Path(tempfile.mkdtemp(prefix="plone-catalog-"))
    meta = instance / "corpus.json"
    try:
        app = start_zope(instance, args.cache_size)
        from importlib.metadata import version

        print(f"Plone {version('Products.CMFPlone')}, plone.restapi {version('plone.restapi')}")
        print(f"Python {sys.version.split()[0]}, instance {instance}")
        writes = 0  # published Documents from earlier write measurements, in the kept site
        if args.reuse:
            args.n, args.seed, writes = json.loads(meta.read_text())
            site = app[SITE]
            from zope.component.hooks import setSite

            setSite(site)  # addPloneSite does it for a new site
        else:
            site = add_site(app)
            print(f"loading {args.n} items and 200 folders (seed {args.seed})")
            seconds = load(site, args.n, args.seed)
            print(f"loaded in {seconds:.0f} s: {(args.n + 200) / seconds:.0f} objects/s")
        expected = summary(args.n, args.seed)
        print(f"corpus: {expected}")
        expected["sitewide_query"] += writes
        measure_queries(site, args.rounds, args.warmup, expected)
        measure_writes(site, args.writes)
        meta.write_text(json.dumps([args.n, args.seed, writes + args.writes]))
        measure_size(app, site, instance / "var" / "Data.fs")
        app._p_jar.db().close()
    finally:
        if not (args.keep or args.reuse):
            shutil.rmtree(instance, ignore_errors=True)
    os._exit(0)  # Zope's threads (the ZODB cache's, the mail queue) need not be waited for


if __name__ == "__main__":
    main()
