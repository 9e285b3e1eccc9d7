"""What start-up builds and shutdown closes: registry, databases, authenticator, publisher,
event delivery, live push and the async utilities."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from BTrees.OOBTree import OOBTree

from baobab import __version__
from baobab.asgi.cors import Cors
from baobab.asgi.health import Readiness
from baobab.asgi.publish import Publisher
from baobab.asgi.urls import PublicUrls
from baobab.blobs.spool import clean_spool
from baobab.catalog.rebuild import prepare_catalogs
from baobab.config.registry import Registry
from baobab.config.scan import scan
from baobab.config.settings import Settings, load_settings
from baobab.content.resources import DatabaseRoot
from baobab.content.typeinfo import validate_registry
from baobab.content.uploads import UPLOADS_KEY
from baobab.database.databases import Databases
from baobab.database.transactions import ROOT_KEY
from baobab.events.delivery import Delivery
from baobab.live.runtime import Live
from baobab.security.authentication import Authenticator
from baobab.security.policy import SecurityPolicy
from baobab.security.secrets import Secrets, ensure_secrets
from baobab.security.workflows import Workflows
from baobab.telemetry.logs import AccessLog, configure_logging
from baobab.telemetry.metrics import Instruments, instruments
from baobab.telemetry.requestid import reseed
from baobab.utilities import Utilities

if TYPE_CHECKING:
    from baobab.console.server import ConsoleServer

__all__ = ["CONFIG_ENV", "AppState", "assemble", "build_registry", "start", "stop"]

logger = logging.getLogger(__name__)

CONFIG_ENV = "BAOBAB_CONFIG"

BUILTIN_PACKAGES = (
    "baobab.security.vocabulary",
    "baobab.content.behaviours",
    "baobab.content.types",
    "baobab.catalog.indexes",
    "baobab.services",
)


@dataclass
class AppState:
    settings: Settings
    registry: Registry
    policy: SecurityPolicy
    databases: Databases
    authenticator: Authenticator
    publisher: Publisher
    cors: Cors
    delivery: Delivery
    live: Live
    urls: PublicUrls
    secrets: Secrets
    readiness: Readiness
    utilities: Utilities = field(default_factory=Utilities)  # started by BaobabApp.startup
    console: ConsoleServer | None = None  # the SSH console, started by BaobabApp.startup
    instruments: Instruments | None = None  # metrics.enabled: requests are counted and timed
    access_log: AccessLog | None = None  # server.log_format "json": a JSON line per request


def build_registry(settings: Settings) -> Registry:
    """Scan the built-ins, then every add-on the configuration lists; refuse permission ids
    that no scan declared, in declarations and in the configuration's notification rules."""
    registry = Registry()
    for package in (*BUILTIN_PACKAGES, *settings.addons):
        scan(registry, package)
    validate_registry(registry)
    for index, rule in enumerate(settings.live.notifications):
        if rule.to != "owner":
            where = f"$.live.notifications[{index}].to"
            registry.check_permission(rule.to, "a notification rule", where)
    return registry


def _ensure_root(name: str, conn: Any) -> bool:
    """A database's content root and upload tree, made on its first start."""
    root = conn.root()
    changed = False
    if ROOT_KEY not in root:
        root[ROOT_KEY] = DatabaseRoot(name, "Database")
        logger.info("created content root of database %s", name)
        changed = True
    if UPLOADS_KEY not in root:
        root[UPLOADS_KEY] = OOBTree()
        changed = True
    return changed


def start(settings: Settings | None = None) -> AppState:
    """Build the application state (blocking: call it before serving, or off the loop)."""
    if settings is None:
        settings = load_settings(os.environ.get(CONFIG_ENV) or None)
    secrets, generated = ensure_secrets(settings)
    if generated:
        logger.warning("generated root password (shown once): %s", generated)
    removed = clean_spool(settings.spool_path)
    if removed:
        logger.warning("removed %d unfinished upload(s) left in %s", removed, settings.spool_path)
    return assemble(settings, secrets)


def assemble(settings: Settings, secrets: Secrets, *, prepare: bool = True) -> AppState:
    """The state :func:`start` builds once the secrets are resolved. With ``prepare`` False
    (a command that publishes requests in its own process: ``baobab user``), the databases
    are opened as they are, nothing created or upgraded in them."""
    registry = build_registry(settings)
    workflows = Workflows.build(settings.workflows, registry)
    if prepare:
        databases = Databases.open(
            settings,
            setup=_ensure_root,
            upgrade=lambda name, db: prepare_catalogs(db, name, registry),
        )
    else:
        databases = Databases.open(settings)
    authenticator = Authenticator(settings, secrets)
    configure_logging(settings.server.log_format)
    reseed()  # request ids unique to this process, a forked worker's too
    metrics = None
    if settings.metrics.enabled:
        metrics = instruments()
        metrics.know_views(info.name for info in registry.services() if info.name)
        metrics.info.labels(__version__).set(1)
    live = Live(settings, databases.system, databases.last_tids())
    return AppState(
        settings=settings,
        registry=registry,
        policy=SecurityPolicy(registry, workflows),
        databases=databases,
        authenticator=authenticator,
        publisher=Publisher(
            databases, registry, authenticator, debug=settings.debug, metrics=metrics
        ),
        cors=Cors(settings.cors),
        delivery=Delivery([live.publish]),
        live=live,
        urls=PublicUrls(settings.server),
        secrets=secrets,
        readiness=Readiness(settings, databases),
        instruments=metrics,
        access_log=AccessLog() if settings.server.log_format == "json" else None,
    )


def stop(state: AppState) -> None:
    state.authenticator.throttle.close()
    state.databases.close()
    logger.info("databases closed")
