"""Settings: one JSON file decoded into frozen, typed objects.

Decoding is strict (msgspec): an unknown key or a wrong type stops start-up with a message that
names the key path (``$.databases.db.storage``). Every key has a default, so ``{}`` — or no file
at all — is a working configuration: database ``db`` on FileStorage under ``./var``.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from baobab.errors import ConfigError

__all__ = [
    "Argon2Settings",
    "AuthSettings",
    "ConsoleSettings",
    "CorsSettings",
    "DatabaseSettings",
    "FileSettings",
    "LiveSettings",
    "MetricsSettings",
    "NotificationRule",
    "PubSubSettings",
    "RequestSettings",
    "ServerSettings",
    "Settings",
    "ThreadSettings",
    "ThrottleSettings",
    "UserSettings",
    "UtilitySettings",
    "WorkflowSettings",
    "check_settings",
    "load_settings",
    "parse_settings",
]


class _Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class DatabaseSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One ZODB database. ``storage`` picks the backend."""

    storage: Literal["filestorage", "postgresql", "memory"] = "filestorage"
    path: str | None = None  # FileStorage file; default <var_dir>/<name>.fs
    blob_dir: str | None = None  # default <var_dir>/blobs/<name>
    dsn: str | None = None  # PostgreSQL DSN, required for "postgresql"
    cache_size: int = 20_000  # objects kept per connection cache
    pool_size: int = 16  # connections kept open
    blob_cache_size: int = 1 << 30  # RelStorage local blob cache, bytes


class UserSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A configured principal: an argon2 hash (``baobab hash-password``) and global roles."""

    password_hash: str
    roles: list[str] = msgspec.field(default_factory=list)
    title: str = ""


class Argon2Settings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Cost of new password hashes (argon2id; the defaults are argon2-cffi's, RFC 9106's
    low-memory profile). Existing hashes keep the parameters they were made with."""

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4


class ThrottleSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Failed password checks (``@login``, Basic) allowed before a lockout: 429 with
    ``Retry-After``, and no password is checked until it ends (see docs/security.md).
    Counted per process, or in Redis for every process when ``pubsub.redis`` is set."""

    login_failures: int = 10  # per login name (existing or not) in a window; 0: no limit
    address_failures: int = 50  # per client address in a window; 0: no limit
    window: int = 300  # seconds failures are counted over, from the first one
    lockout: int = 300  # seconds a login name or an address stays locked once at its limit


class AuthSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    root_password: str | None = None  # else BAOBAB_ROOT_PASSWORD, else generated under var/
    root_password_hash: str | None = None  # an argon2 hash instead (`baobab hash-password`)
    jwt_secret: str | None = None  # else BAOBAB_JWT_SECRET, else generated under var/
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    token_expiry: int = 12 * 3600  # seconds
    users: dict[str, UserSettings] = msgspec.field(default_factory=dict)
    argon2: Argon2Settings = msgspec.field(default_factory=Argon2Settings)
    throttle: ThrottleSettings = msgspec.field(default_factory=ThrottleSettings)


class WorkflowSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Which workflow each content type follows (see ``baobab.security.workflows``)."""

    default: str | None = "simple_publication_workflow"  # for types that do not name one
    types: dict[str, str | None] = msgspec.field(default_factory=dict)  # null: no workflow
    files: list[str] = msgspec.field(default_factory=list)  # extra JSON definitions


class RequestSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    max_body_size: int = 1 << 20  # bytes of JSON accepted in memory
    conflict_retries: int = 3  # replays of a request after a ConflictError, then 409
    default_batch_size: int = 25
    max_batch_size: int = 1000
    # seconds to wait for the next part of any request body (JSON, upload, TUS PATCH): a body
    # that stalls longer is answered 408 and nothing of it is kept
    body_timeout: float = 30.0
    # seconds to read a whole in-memory (JSON) body, however it trickles in, then 408
    memory_body_timeout: float = 60.0


class FileSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Uploads and downloads (see docs/files.md)."""

    max_upload_size: int = 2 << 30  # bytes in one upload (raw, multipart, or a TUS upload)
    spool_dir: str | None = None  # where bodies stream to before commit; default <var_dir>/spool
    tus_expiry: int = 24 * 3600  # seconds an unfinished TUS upload is kept after its creation
    max_form_size: int = 64 << 10  # bytes of non-file multipart fields, held in memory
    download_chunk_size: int = 256 << 10  # bytes per read when the server has no pathsend


class ThreadSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How publish steps reach the synchronous ZODB (see docs/architecture.md).

    ``auto`` is ``inline`` when every storage is local (FileStorage, memory: the fastest
    measured) and ``pool`` (``pool_size`` threads) when any is on the network (PostgreSQL).
    ``split`` (reads inline, writes on one writer thread) keeps a slow disk's fsync off the
    event loop.
    """

    mode: Literal["auto", "inline", "split", "pool"] = "auto"
    pool_size: int = 4


class CorsSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Cross-origin access for browser front ends on other origins (none by default)."""

    allow_origins: list[str] = msgspec.field(default_factory=list)  # exact origins, or "*"
    allow_methods: list[str] = msgspec.field(
        default_factory=lambda: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    )
    allow_headers: list[str] = msgspec.field(
        default_factory=lambda: [
            "Authorization",
            "Content-Type",
            "If-Match",
            "If-None-Match",
            "Prefer",
            # uploads, downloads and TUS (browser clients such as Uppy)
            "Content-Disposition",
            "Content-Digest",
            "Range",
            "If-Range",
            "Tus-Resumable",
            "Upload-Length",
            "Upload-Metadata",
            "Upload-Offset",
            "Upload-Checksum",
        ]
    )
    expose_headers: list[str] = msgspec.field(
        default_factory=lambda: [
            "ETag",
            "Location",
            "Content-Disposition",
            "Content-Range",
            "Tus-Resumable",
            "Tus-Version",
            "Tus-Max-Size",
            "Tus-Extension",
            "Upload-Offset",
            "Upload-Length",
            "Upload-Expires",
            "Retry-After",
        ]
    )
    allow_credentials: bool = False
    max_age: int = 600


class NotificationRule(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Push a ``notification`` to principals when an object enters a workflow state.

    ``to`` is ``"owner"`` (the object's owners) or a permission id: the principals that hold
    it on the object (``baobab.ReviewContent``: its reviewers). Delivered to every socket of
    those principals in the object's container, subscribed or not.
    """

    state: str  # the review_state entered
    to: str  # "owner", or a permission id
    reason: str  # the notification's ``reason``
    transitions: list[str] = msgspec.field(default_factory=list)  # only these (empty: any)


def _default_notifications() -> list[NotificationRule]:
    return [
        NotificationRule(state="pending", to="baobab.ReviewContent", reason="review"),
        NotificationRule(state="published", to="owner", reason="published"),
        NotificationRule(
            state="private", to="owner", reason="rejected", transitions=["reject", "retract"]
        ),
    ]


class LiveSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """WebSocket push (``@ws``; see docs/live.md)."""

    max_subscriptions: int = 100  # per connection
    max_queued_bytes: int = 1 << 20  # per connection; a socket over it is closed (4008)
    max_frame_size: int = 64 << 10  # bytes of one client frame
    backlog: int = 10_000  # events kept per database for ``since``
    ticket_expiry: int = 30  # seconds a ``@wstoken`` ticket stays valid (it is single-use)
    cookie: str = "auth_token"  # the login cookie read when no other credential is sent
    notifications: list[NotificationRule] = msgspec.field(default_factory=_default_notifications)


class PubSubSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How committed events travel between processes: in-process unless ``redis`` is set."""

    redis: str | None = None  # redis://host:port/db: share events (and the backlog) via Redis
    prefix: str = "baobab"  # Redis key prefix (a stream per database: <prefix>:events:<db>)


class UtilitySettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A long-running coroutine service started with the application (see docs/live.md)."""

    factory: str  # "package.module:callable"
    settings: dict[str, Any] = msgspec.field(default_factory=dict)


class ConsoleSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The SSH console into the running process (docs/console.md): off unless enabled."""

    enabled: bool = False
    host: str = "127.0.0.1"  # another address (even 0.0.0.0) only when written here
    port: int = 8022
    # OpenSSH public key lines ("ssh-ed25519 AAAA… alice@laptop"): the comment names the
    # operator in the audit log, so every line must have one
    authorized_keys: list[str] = msgspec.field(default_factory=list)
    host_key: str | None = None  # default <var_dir>/console_host_key, made on first start


class ServerSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1  # FileStorage is single-process: more than 1 needs PostgreSQL
    certfile: str | None = None
    keyfile: str | None = None
    access_log: bool = True  # Granian's access log (text), beside Baobab's own JSON lines
    # "json": one JSON line per request on standard output (method, path, status, duration,
    # principal, request id, conflicts) and every log record as JSON (docs/observability.md)
    log_format: Literal["text", "json"] = "text"
    backlog: int = 2048
    # scheme://host[:port][/prefix] the clients use (behind a proxy): every absolute URL
    # (@id, Location, batching links, pushed frames) starts with it instead of being built
    # from the request's Host header. The proxy forwards paths without the prefix.
    public_url: str | None = None
    # Host header values answered (others: 400): names ("api.example.com"), "*.example.com"
    # for its subdomains, "*" for any (the default; set it in production). Ports are ignored.
    trusted_hosts: list[str] = msgspec.field(default_factory=lambda: ["*"])
    # client addresses (IPs or networks, "*" for any) whose X-Forwarded-Proto and
    # X-Forwarded-Host are believed: the reverse proxy's. Empty: those headers are ignored.
    forwarded_allow_ips: list[str] = msgspec.field(default_factory=list)


class MetricsSettings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Prometheus metrics (docs/observability.md): off unless ``enabled``; then served by
    ``baobab serve`` on ``host:port`` (every worker's values summed), and also as
    ``GET /@metrics`` on the API's port, for Managers only, when ``public`` is set."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int | None = 9464  # null: no port of its own (with ``public``: the API's only)
    public: bool = False


class Settings(_Strict, frozen=True, forbid_unknown_fields=True, kw_only=True):
    debug: bool = False
    var_dir: str = "var"
    databases: dict[str, DatabaseSettings] = msgspec.field(
        default_factory=lambda: {"db": DatabaseSettings()}
    )
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    request: RequestSettings = msgspec.field(default_factory=RequestSettings)
    threads: ThreadSettings = msgspec.field(default_factory=ThreadSettings)
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    cors: CorsSettings = msgspec.field(default_factory=CorsSettings)
    workflows: WorkflowSettings = msgspec.field(default_factory=WorkflowSettings)
    files: FileSettings = msgspec.field(default_factory=FileSettings)
    addons: list[str] = msgspec.field(default_factory=list)
    live: LiveSettings = msgspec.field(default_factory=LiveSettings)
    pubsub: PubSubSettings = msgspec.field(default_factory=PubSubSettings)
    utilities: dict[str, UtilitySettings] = msgspec.field(default_factory=dict)
    console: ConsoleSettings = msgspec.field(default_factory=ConsoleSettings)
    metrics: MetricsSettings = msgspec.field(default_factory=MetricsSettings)

    @property
    def var_path(self) -> Path:
        return Path(self.var_dir)

    @property
    def spool_path(self) -> Path:
        return Path(self.files.spool_dir) if self.files.spool_dir else self.var_path / "spool"

    @property
    def console_host_key_path(self) -> Path:
        key = self.console.host_key
        return Path(key) if key else self.var_path / "console_host_key"

    @property
    def system_database(self) -> str:
        """The database that keeps what belongs to no site (revoked tokens, used tickets):
        the first one configured."""
        return next(iter(self.databases))


def _check_databases(settings: Settings) -> None:
    if not settings.databases:
        raise ConfigError("Invalid configuration: `$.databases` must name at least one database")
    for name, db in settings.databases.items():
        where = f"$.databases.{name}"
        if not name or name.startswith(("@", "_", ".")) or "/" in name:
            raise ConfigError(f"Invalid configuration: `{where}` is not a valid database name")
        if db.storage == "postgresql" and not db.dsn:
            raise ConfigError(f"Invalid configuration: `{where}.dsn` is required for postgresql")
        if db.cache_size < 0 or db.pool_size < 1:
            raise ConfigError(f"Invalid configuration: `{where}` sizes must be positive")


def _check_throttle(throttle: ThrottleSettings) -> None:
    for key in ("login_failures", "address_failures"):
        if getattr(throttle, key) < 0:
            raise ConfigError(f"Invalid configuration: `$.auth.throttle.{key}` must be >= 0")


def _check_ports(settings: Settings) -> None:
    for path, port in {
        "$.server.port": settings.server.port,
        "$.metrics.port": settings.metrics.port,
    }.items():
        if port is not None and not 0 <= port <= 65535:
            raise ConfigError(f"Invalid configuration: `{path}` must be between 0 and 65535")


def check_settings(settings: Settings) -> Settings:
    """Rules a type cannot express, each naming its key path."""
    _check_databases(settings)
    positive = {
        "$.request.max_body_size": settings.request.max_body_size,
        "$.request.default_batch_size": settings.request.default_batch_size,
        "$.request.max_batch_size": settings.request.max_batch_size,
        "$.threads.pool_size": settings.threads.pool_size,
        "$.server.workers": settings.server.workers,
        "$.auth.token_expiry": settings.auth.token_expiry,
        "$.auth.argon2.time_cost": settings.auth.argon2.time_cost,
        "$.auth.argon2.parallelism": settings.auth.argon2.parallelism,
        "$.files.max_upload_size": settings.files.max_upload_size,
        "$.files.tus_expiry": settings.files.tus_expiry,
        "$.files.max_form_size": settings.files.max_form_size,
        "$.files.download_chunk_size": settings.files.download_chunk_size,
        "$.live.max_subscriptions": settings.live.max_subscriptions,
        "$.live.max_queued_bytes": settings.live.max_queued_bytes,
        "$.live.max_frame_size": settings.live.max_frame_size,
        "$.live.backlog": settings.live.backlog,
        "$.live.ticket_expiry": settings.live.ticket_expiry,
        "$.auth.throttle.window": settings.auth.throttle.window,
        "$.auth.throttle.lockout": settings.auth.throttle.lockout,
    }
    for path, value in positive.items():
        if value < 1:
            raise ConfigError(f"Invalid configuration: `{path}` must be at least 1")
    for path, seconds in {
        "$.request.body_timeout": settings.request.body_timeout,
        "$.request.memory_body_timeout": settings.request.memory_body_timeout,
    }.items():
        if not seconds > 0:
            raise ConfigError(f"Invalid configuration: `{path}` must be more than 0 seconds")
    _check_ports(settings)
    if settings.auth.jwt_secret is not None and len(settings.auth.jwt_secret) < 32:
        raise ConfigError("Invalid configuration: `$.auth.jwt_secret` needs at least 32 characters")
    if settings.auth.argon2.memory_cost < 8 * settings.auth.argon2.parallelism:
        raise ConfigError(
            "Invalid configuration: `$.auth.argon2.memory_cost` must be at least 8 KiB per lane "
            "(parallelism)"
        )
    _check_throttle(settings.auth.throttle)
    if settings.request.conflict_retries < 0:
        raise ConfigError("Invalid configuration: `$.request.conflict_retries` must be >= 0")
    local = all(db.storage != "postgresql" for db in settings.databases.values())
    if settings.server.workers > 1 and local:
        raise ConfigError(
            "Invalid configuration: `$.server.workers` > 1 needs every database on postgresql "
            "(FileStorage is single-process)"
        )
    if "*" in settings.cors.allow_origins and settings.cors.allow_credentials:
        raise ConfigError(
            'Invalid configuration: `$.cors.allow_origins` may not be "*" with allow_credentials'
        )
    if bool(settings.server.certfile) != bool(settings.server.keyfile):
        raise ConfigError("Invalid configuration: `$.server.certfile` and `keyfile` go together")
    _check_public_urls(settings.server)
    _check_console(settings.console)
    return settings


def _check_console(console: ConsoleSettings) -> None:
    if not 0 <= console.port <= 65535:
        raise ConfigError("Invalid configuration: `$.console.port` must be between 0 and 65535")
    for index, line in enumerate(console.authorized_keys):
        if len(line.split(None, 2)) < 3:
            raise ConfigError(
                f"Invalid configuration: `$.console.authorized_keys[{index}]` must be an OpenSSH "
                'public key line with a comment naming the operator ("ssh-ed25519 AAAA… alice")'
            )
    if console.enabled and not console.authorized_keys:
        raise ConfigError(
            "Invalid configuration: `$.console.enabled` needs at least one key in "
            "`$.console.authorized_keys`"
        )


def _check_public_urls(server: ServerSettings) -> None:
    url = server.public_url
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                "Invalid configuration: `$.server.public_url` must be an absolute http(s) URL "
                "(scheme://host[:port][/prefix])"
            )
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ConfigError(
                "Invalid configuration: `$.server.public_url` may not hold a query, a fragment "
                "or credentials"
            )
    for index, host in enumerate(server.trusted_hosts):
        name = host[2:] if host.startswith("*.") else host
        bracketed = name.startswith("[") and name.endswith("]")  # an IPv6 address
        if host != "*" and (
            not name or "*" in name or "/" in name or (":" in name and not bracketed)
        ):
            raise ConfigError(
                f"Invalid configuration: `$.server.trusted_hosts[{index}]` must be a host name, "
                '"*.domain" or "*"'
            )
    for index, address in enumerate(server.forwarded_allow_ips):
        if address == "*":
            continue
        try:
            ipaddress.ip_network(address, strict=False)
        except ValueError:
            raise ConfigError(
                f"Invalid configuration: `$.server.forwarded_allow_ips[{index}]` must be an IP "
                'address, a network (10.0.0.0/8) or "*"'
            ) from None


def _name_keys(raw: bytes | str, exc: msgspec.ValidationError) -> str:
    """Replace msgspec's ``[...]`` for a mapping key with the key that failed."""
    message = str(exc)
    if " - at `" not in message:
        return f"{message} - at `$`"
    if "[...]" not in message:
        return message
    data = msgspec.json.decode(raw)
    tables: dict[str, tuple[Any, Any]] = {
        "$.databases": (data.get("databases"), DatabaseSettings),
        "$.auth.users": ((data.get("auth") or {}).get("users"), UserSettings),
        "$.workflows.types": ((data.get("workflows") or {}).get("types"), str | None),
        "$.utilities": (data.get("utilities"), UtilitySettings),
    }
    for prefix, (table, type_) in tables.items():
        if f"`{prefix}[...]" not in message or not isinstance(table, dict):
            continue
        for key, value in table.items():
            try:
                msgspec.convert(value, type=type_)
            except msgspec.ValidationError:
                return message.replace(f"{prefix}[...]", f"{prefix}.{key}")
    return message


def parse_settings(raw: bytes | str) -> Settings:
    """Decode and validate settings from JSON text."""
    try:
        settings = msgspec.json.decode(raw, type=Settings)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"Invalid configuration: {_name_keys(raw, exc)}") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"Configuration is not valid JSON: {exc}") from None
    return check_settings(settings)


def load_settings(path: str | os.PathLike[str] | None) -> Settings:
    """Load settings from ``path``; ``None`` gives the defaults."""
    if path is None:
        return check_settings(Settings())
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read configuration file {path}: {exc.strerror}") from None
    return parse_settings(raw)
