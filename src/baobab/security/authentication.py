"""Turning request credentials into a :class:`Principal` (Basic or Bearer JWT).

Runs on the event loop: JWT decoding is microseconds; an argon2 check that is not already
cached goes to a thread. A credential that is present but wrong is a 401, never a silent
anonymous request. Token revocation needs the database and is checked in the publish step.
"""

from __future__ import annotations

import asyncio
import base64
import binascii

from baobab.config.settings import Settings
from baobab.errors import Unauthorized
from baobab.security.passwords import PasswordVerifier
from baobab.security.principals import ANONYMOUS_PRINCIPAL, ROOT_ID, Principal
from baobab.security.secrets import Secrets
from baobab.security.tokens import TokenService

__all__ = ["Authenticator"]


class Authenticator:
    def __init__(self, settings: Settings, secrets: Secrets) -> None:
        self.tokens = TokenService(
            secrets.jwt_secret, settings.auth.jwt_algorithm, settings.auth.token_expiry
        )
        self.verifier = PasswordVerifier()
        self._users: dict[str, tuple[str, Principal]] = {
            ROOT_ID: (
                secrets.root_password_hash,
                Principal(id=ROOT_ID, roles=frozenset({"baobab.Manager"}), title="Root"),
            )
        }
        for login, user in settings.auth.users.items():
            principal = Principal(id=login, roles=frozenset(user.roles), title=user.title)
            self._users[login] = (user.password_hash, principal)

    def principal(self, login: str) -> Principal | None:
        entry = self._users.get(login)
        return entry[1] if entry else None

    async def check_password(self, login: str, password: str) -> Principal:
        """The principal for ``login`` if ``password`` is right; else :class:`Unauthorized`."""
        entry = self._users.get(login)
        if entry is None:
            raise Unauthorized("Wrong login or password")
        hashed, principal = entry
        if self.verifier.cached(hashed, password):
            return principal
        loop = asyncio.get_running_loop()
        if await loop.run_in_executor(None, self.verifier.verify, hashed, password):
            return principal
        raise Unauthorized("Wrong login or password")

    async def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            return ANONYMOUS_PRINCIPAL
        scheme, _, credentials = authorization.partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "bearer" and credentials:
            return self.from_token(credentials)
        if scheme == "basic" and credentials:
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise Unauthorized("Malformed Basic credentials") from None
            login, sep, password = decoded.partition(":")
            if not sep:
                raise Unauthorized("Malformed Basic credentials")
            return await self.check_password(login, password)
        raise Unauthorized("Unsupported authorization scheme; use Basic or Bearer")

    def from_token(self, token: str) -> Principal:
        claims = self.tokens.decode(token)
        principal = self.principal(claims["sub"])
        if principal is None:
            raise Unauthorized("The token's user no longer exists")
        return Principal(
            id=principal.id,
            roles=principal.roles,
            title=principal.title,
            token_id=claims["jti"],
            token_expiry=int(claims["exp"]),
        )
