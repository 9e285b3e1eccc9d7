"""Turning request credentials into a :class:`Principal` (Basic or Bearer JWT).

Two steps. On the event loop, :meth:`Authenticator.authenticate` reads the header: JWT
decoding is microseconds, and principals that live outside the database (the root user and
users from the configuration) are resolved right there. Users stored in a container need the
database, so the loop hands over *pending* credentials and the publish step finishes the job
with :meth:`Authenticator.resolve` once traversal has found the container: the user must exist,
be enabled, and (for a token) the token must be newer than the user's last password change.

A container user's token carries the container's path (claim ``ctr``) and is valid only
inside it. An argon2 check that is not cached is never run on the publish thread: the
``offload`` callback hands it to a worker thread and replays the request (see
``Request.offload``). A credential that is present but wrong is a 401, never anonymous.

Every password check, ``@login``'s and Basic's, goes through :meth:`Authenticator.passes`
(or its loop twin for global users): the throttle first (:mod:`baobab.security.throttle`;
while the login name or the client address is locked nothing is checked: 429), then one
argon2 verification, against a dummy hash when there is no usable one (an unknown login, a
disabled user), so a refusal costs the same whether the account exists or not.
"""

from __future__ import annotations

import asyncio
import base64
import secrets as _secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher

from baobab.config.settings import Settings
from baobab.content.interfaces import IContainer
from baobab.errors import TooManyRequests, Unauthorized
from baobab.location import lineage
from baobab.security.passwords import PasswordVerifier
from baobab.security.principals import ANONYMOUS_PRINCIPAL, ROOT_ID, Principal
from baobab.security.secrets import Secrets
from baobab.security.throttle import Throttle
from baobab.security.tokens import TICKET_USE, TokenService
from baobab.security.users import User, UserFolder, user_folder
from baobab.security.vocabulary import MANAGER

__all__ = [
    "Authenticator",
    "Credentials",
    "Locked",
    "Offload",
    "PendingLogin",
    "PendingToken",
    "Verdict",
    "find_container",
    "principal_for",
]

WRONG = "Wrong login or password"
_PRINCIPAL_CACHE_SIZE = 4096

# ``offload(key, fn)``: the result of ``fn()`` computed off the publish thread (see Request).
Offload = Callable[[Any, Callable[[], Any]], Any]


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """Basic credentials for a login that is not a global user: checked in the container."""

    login: str
    password: str
    address: str = ""  # the client's (what the throttle counts against)


@dataclass(frozen=True, slots=True)
class Locked:
    """A password check refused unchecked: the login name or the address is locked."""

    retry_after: int


# the outcome of one throttled password check: right, wrong, or not checked
Verdict = bool | Locked


@dataclass(frozen=True, slots=True)
class PendingToken:
    """A valid JWT of a container user: the user is looked up in the container."""

    user_id: str
    container: str
    token_id: str | None  # None: a WebSocket ticket asked for with Basic credentials
    expiry: int | None
    issued: float


Credentials = Principal | PendingLogin | PendingToken


def find_container(context: Any) -> Any:
    """The container ``context`` is in (or is), or None above containers."""
    for node in lineage(context):
        if IContainer.providedBy(node):
            return node
    return None


def _path(container: Any) -> str:
    """A container's path: ``/{db}/{id}`` (containers sit right below a database root)."""
    return f"/{container.__parent__.__name__}/{container.__name__}"


def principal_for(
    user: User,
    folder: UserFolder,
    container_path: str,
    token_id: str | None = None,
    token_expiry: int | None = None,
) -> Principal:
    """A stored user as a principal: its roles plus the roles of its groups."""
    return Principal(
        id=user.id,
        roles=folder.roles_of(user),
        title=user.fullname or user.id,
        groups=frozenset(user.groups),
        container=container_path,
        token_id=token_id,
        token_expiry=token_expiry,
    )


class Authenticator:
    def __init__(self, settings: Settings, secrets: Secrets) -> None:
        self.tokens = TokenService(
            secrets.jwt_secret, settings.auth.jwt_algorithm, settings.auth.token_expiry
        )
        argon = settings.auth.argon2
        self.hasher = PasswordHasher(
            time_cost=argon.time_cost, memory_cost=argon.memory_cost, parallelism=argon.parallelism
        )
        self.verifier = PasswordVerifier(self.hasher)
        # What a refusal verifies against when there is no usable hash: made once, with the
        # parameters of real hashes, of a secret nobody knows (so it never matches).
        self.dummy_hash = self.hasher.hash(_secrets.token_urlsafe(32))
        self.throttle = Throttle.from_settings(settings)
        self._token_principals: dict[str, Principal] = {}
        self._users: dict[str, tuple[str, Principal]] = {
            ROOT_ID: (
                secrets.root_password_hash,
                Principal(id=ROOT_ID, roles=frozenset({MANAGER.id}), title="Root"),
            )
        }
        for login, user in settings.auth.users.items():
            principal = Principal(id=login, roles=frozenset(user.roles), title=user.title)
            self._users[login] = (user.password_hash, principal)

    # global principals (root, configuration) ------------------------------------------
    def principal(self, login: str) -> Principal | None:
        entry = self._users.get(login)
        return entry[1] if entry else None

    def is_global(self, login: str) -> bool:
        return login in self._users

    # password checks: throttled, and as costly for a missing account as for a wrong password
    def attempt(self, login: str, hashed: str | None, password: str, address: str) -> Verdict:
        """One throttled password check (blocking: argon2, and Redis when the throttle is
        shared; run it on a worker thread). ``hashed`` None: no usable hash (an unknown
        login, a disabled user), checked against the dummy hash and always wrong."""
        wait = self.throttle.retry_after(login, address)
        if wait is not None:
            return Locked(wait)
        if hashed and self.verifier.cached(hashed, password):
            return True
        right = self.verifier.verify(hashed or self.dummy_hash, password) and bool(hashed)
        if not right:
            self.throttle.failed(login, address)
        return right

    def _recently_verified(
        self, login: str, hashed: str | None, password: str, address: str
    ) -> bool:
        """Right without a thread: verified recently, and the local throttle says go."""
        if not hashed or self.throttle.shared or not self.verifier.cached(hashed, password):
            return False
        return self.throttle.retry_after(login, address) is None  # else attempt(): Locked

    @staticmethod
    def _conclude(verdict: Verdict) -> bool:
        if isinstance(verdict, Locked):
            raise TooManyRequests(retry_after=verdict.retry_after)
        return verdict

    def passes(
        self, login: str, hashed: str | None, password: str, address: str, offload: Offload
    ) -> bool:
        """Whether ``password`` is right for ``login`` (``hashed``: its hash, None if it has
        none that may be used), from the publish step; 429 while throttled (see
        :meth:`attempt`; computed off-thread through ``offload``)."""
        if self._recently_verified(login, hashed, password, address):
            return True
        verdict: Verdict = offload(
            ("verify", login, address, hashed, password),
            lambda: self.attempt(login, hashed, password, address),
        )
        return self._conclude(verdict)

    async def check_password(self, login: str, password: str, address: str = "") -> Principal:
        """The global principal for ``login`` if ``password`` is right; else 401 (on the
        loop: the check runs in the default executor)."""
        entry = self._users.get(login)
        hashed, principal = entry if entry is not None else (None, None)
        if not self._recently_verified(login, hashed, password, address):
            loop = asyncio.get_running_loop()
            verdict = await loop.run_in_executor(
                None, self.attempt, login, hashed, password, address
            )
            if not self._conclude(verdict):
                raise Unauthorized(WRONG)
        if principal is None:
            raise Unauthorized(WRONG)
        return principal

    def hash(self, password: str, offload: Offload) -> str:
        """An argon2 hash of ``password``, computed off the publish thread."""
        result: str = offload(("hash", password), lambda: self.hasher.hash(password))
        return result

    # step 1, on the loop ----------------------------------------------------------------
    async def authenticate(self, authorization: str | None, address: str = "") -> Credentials:
        """Credentials from an ``Authorization`` value; ``address`` is the client's (Basic
        failures count against it)."""
        if not authorization:
            return ANONYMOUS_PRINCIPAL
        scheme, _, credentials = authorization.partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "bearer" and credentials:
            return self.from_token(credentials)
        if scheme == "basic" and credentials:
            try:
                # ValueError: a non-ASCII header (base64 takes ASCII text only), a bad byte
                # (binascii.Error) or a login that is not UTF-8 (UnicodeDecodeError)
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except ValueError:
                raise Unauthorized("Malformed Basic credentials") from None
            login, sep, password = decoded.partition(":")
            if not sep:
                raise Unauthorized("Malformed Basic credentials")
            if self.is_global(login):
                return await self.check_password(login, password, address)
            return PendingLogin(login, password, address)
        raise Unauthorized("Unsupported authorization scheme; use Basic or Bearer")

    def from_token(self, token: str) -> Credentials:
        claims = self.tokens.decode(token)
        if "use" in claims:
            raise Unauthorized("A WebSocket ticket is not a token; pass it to @ws as ws_token")
        return self._credentials(claims, claims["jti"], int(claims["exp"]))

    def from_ticket(self, ticket: str) -> tuple[Credentials, str, int]:
        """A ``@wstoken`` ticket's credentials, its own ``jti`` and expiry (to use it up).

        The credentials carry the session the ticket was asked with (revocation, expiry)."""
        claims = self.tokens.decode(ticket)
        if claims.get("use") != TICKET_USE:
            raise Unauthorized("ws_token must be a ticket from @wstoken")
        session = claims.get("sid")
        expiry = claims.get("sx")
        credentials = self._credentials(
            claims,
            session if isinstance(session, str) else None,
            int(expiry) if isinstance(expiry, int) else None,
        )
        return credentials, claims["jti"], int(claims["exp"])

    def _credentials(
        self, claims: dict[str, Any], token_id: str | None, expiry: int | None
    ) -> Credentials:
        container = claims.get("ctr")
        if isinstance(container, str):
            return PendingToken(
                user_id=claims["sub"],
                container=container,
                token_id=token_id,
                expiry=expiry,
                issued=float(claims.get("iat", 0)),
            )
        if token_id is None:  # a ticket asked for without a token: no session to follow
            principal = self.principal(claims["sub"])
            if principal is None:
                raise Unauthorized("The token's user no longer exists")
            return principal
        assert expiry is not None
        cached = self._token_principals.get(token_id)
        if cached is not None:
            return cached
        principal = self.principal(claims["sub"])
        if principal is None:
            raise Unauthorized("The token's user no longer exists")
        principal = Principal(
            id=principal.id,
            roles=principal.roles,
            title=principal.title,
            token_id=token_id,
            token_expiry=expiry,
        )
        # Global users are fixed for the process's life: a token's principal is built once
        # (its token sets are computed on construction). The claims were verified above.
        if len(self._token_principals) >= _PRINCIPAL_CACHE_SIZE:
            self._token_principals.pop(next(iter(self._token_principals)), None)
        self._token_principals[token_id] = principal
        return principal

    # step 2, in the publish step ----------------------------------------------------------
    def resolve(self, credentials: Credentials, container: Any, offload: Offload) -> Principal:
        """Finish authentication in ``container`` (the container the request is in, or None
        above containers), once traversal found it (see the module doc)."""
        if isinstance(credentials, Principal):
            return credentials
        if isinstance(credentials, PendingToken):
            return self._token_user(credentials, container)
        login, password, address = credentials.login, credentials.password, credentials.address
        folder = user_folder(container) if container is not None else None
        user = folder.get_user(login) if folder is not None else None
        if user is None or folder is None:
            self.passes(login, None, password, address, offload)  # the same cost, counted
            raise Unauthorized(WRONG)
        return self._stored_login(user, folder, password, container, offload, address=address)

    def login(
        self, login: str, password: str, container: Any, offload: Offload, address: str = ""
    ) -> Principal:
        """``@login``: a user of ``container`` (if any) first, then the global users."""
        folder = user_folder(container) if container is not None else None
        user = folder.get_user(login) if folder is not None else None
        if user is not None and folder is not None:
            return self._stored_login(user, folder, password, container, offload, address=address)
        entry = self._users.get(login)
        hashed = entry[0] if entry is not None else None
        if not self.passes(login, hashed, password, address, offload) or entry is None:
            raise Unauthorized(WRONG)
        return entry[1]

    def _stored_login(
        self,
        user: User,
        folder: UserFolder,
        password: str,
        container: Any,
        offload: Offload,
        *,
        address: str,
    ) -> Principal:
        hashed = None if user.disabled else user.password_hash
        if not self.passes(user.id, hashed, password, address, offload):
            raise Unauthorized(WRONG)
        return principal_for(user, folder, _path(container))

    def _token_user(self, pending: PendingToken, container: Any) -> Principal:
        if container is None or _path(container) != pending.container:
            raise Unauthorized(f"This token is valid only inside {pending.container}")
        folder = user_folder(container)
        user = folder.get_user(pending.user_id) if folder is not None else None
        if user is None or folder is None:
            raise Unauthorized("The token's user no longer exists")
        if user.disabled:
            raise Unauthorized("The token's user is disabled")
        if pending.issued < user.tokens_not_before:
            raise Unauthorized("The token was issued before the user's password last changed")
        return principal_for(user, folder, pending.container, pending.token_id, pending.expiry)
