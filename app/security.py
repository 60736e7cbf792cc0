"""Passwords, JWT access tokens and opaque one-time/refresh tokens."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from jose import JWTError, jwt
from passlib.context import CryptContext

from app import clock
from app.config import Settings
from app.errors import Unauthorized, ValidationFailed

_pwd = CryptContext(schemes=["argon2"], deprecated="auto")

# Pre-computed hash used to spend the same time verifying when the user does not exist.
_DUMMY_HASH = _pwd.hash("not-a-real-password-for-timing-only")

# Argon2 takes about 0.1 s of CPU and 64 MiB per call: it runs on these threads, never on the
# event loop (which keeps answering other requests meanwhile), and at most this many at once, so
# a burst of logins queues instead of taking the memory of one hash per request.
_HASHING = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1), thread_name_prefix="argon2")

MIN_PASSWORD_LENGTH = 12

_T = TypeVar("_T")


def utcnow() -> datetime:
    """``app.clock.now()`` (the one clock), under the name existing callers use."""
    return clock.now()


async def _off_loop(work: Callable[[], _T]) -> _T:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, work)


async def hash_password(password: str) -> str:
    return await _off_loop(lambda: str(_pwd.hash(password)))


def _verify(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _pwd.verify(password, _DUMMY_HASH)
        return False
    try:
        return bool(_pwd.verify(password, password_hash))
    except ValueError:
        return False


async def password_matches(password: str, password_hash: str | None) -> bool:
    """Check a password; without a hash (no such account, no password yet) the same work is
    spent on a dummy hash and the answer is False, so timing tells nothing."""
    return await _off_loop(lambda: _verify(password, password_hash))


def check_password_rules(password: str, email: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.", field=field
        )
    if password.strip().lower() == email.strip().lower():
        raise ValidationFailed("The password must not be the email address.", field=field)


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Opaque tokens are stored as SHA-256: a database leak does not leak usable tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


def successor_refresh_token(settings: Settings, refresh_token: str) -> str:
    """The token that replaces ``refresh_token`` when it is rotated.

    Derived from it with the secret key instead of drawn at random: a refresh retried within the
    grace window can then be answered with the same new token, while the database still holds
    only its hash. Without the secret key nobody can compute it.
    """
    digest = hmac.new(
        settings.secret_key.encode(),
        b"cas-refresh-successor\x00" + refresh_token.encode(),
        hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    organization_id: uuid.UUID
    session_id: uuid.UUID
    jti: str
    # When the token expires (long-lived answers, the notification stream, end then).
    expires_at: datetime | None = None
    # The CoC of the session (tokens issued before it was a claim have none).
    coc_id: uuid.UUID | None = None


def create_access_token(
    settings: Settings,
    *,
    user_id: uuid.UUID,
    organization_id: uuid.UUID,
    session_id: uuid.UUID,
    issued_at: datetime | None = None,
    jti: str | None = None,
    coc_id: uuid.UUID | None = None,
) -> str:
    """A signed access token; with ``issued_at`` and ``jti`` given, the same token every time.
    ``coc_id``, the session's CoC, lets the request's first query name it (a CoC-sharded
    database routes it to one node)."""
    now = issued_at or utcnow()
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "sub": str(user_id),
        "org": str(organization_id),
        "sid": str(session_id),
        "jti": jti or uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.access_token_ttl_seconds)).timestamp()),
        "typ": "access",
    }
    if coc_id is not None:
        claims["coc"] = str(coc_id)
    return str(jwt.encode(claims, settings.secret_key, algorithm=settings.jwt_algorithm))


# Tokens whose signature and claims were verified, by (key, algorithm, issuer, token): whether
# a given string is signed by a given key never changes, so each token is verified once and
# afterwards only its expiry is checked again (on every use, against the same clock python-jose
# uses). What a token grants is not kept: the user, session and membership are read on every
# request (``app.services.identity.auth.load_actor``). Oldest first, at most _VERIFIED_MAX.
_VERIFIED: dict[tuple[str, str, str, str], tuple[AccessClaims, int]] = {}
_VERIFIED_MAX = 4096


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verify signature (pinned algorithm: `alg: none` and others fail), expiry and claims."""
    key = (settings.secret_key, settings.jwt_algorithm, settings.jwt_issuer, token)
    known = _VERIFIED.get(key)
    if known is not None:
        claims, exp = known
        if exp < int(time.time()):  # python-jose's test: expired once ``exp`` is in the past
            raise Unauthorized("The access token has expired.")
        return claims
    claims, exp = _verify_access_token(settings, token)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        del _VERIFIED[next(iter(_VERIFIED))]
    _VERIFIED[key] = (claims, exp)
    return claims


def _verify_access_token(settings: Settings, token: str) -> tuple[AccessClaims, int]:
    try:
        header = jwt.get_unverified_header(token)
    except JWTError:
        raise Unauthorized("The access token is malformed.")
    if header.get("alg") != settings.jwt_algorithm:
        raise Unauthorized("The access token is signed with an unaccepted algorithm.")
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[settings.jwt_algorithm],
            issuer=settings.jwt_issuer,
            options={
                "require_exp": True,
                "require_iat": True,
                "require_sub": True,
                "require_jti": True,
            },
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The access token has expired.")
    except JWTError:
        raise Unauthorized("The access token is invalid.")
    if claims.get("typ") != "access":
        raise Unauthorized("The token is not an access token.")
    try:
        exp = int(claims["exp"])
        verified = AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            organization_id=uuid.UUID(claims["org"]),
            session_id=uuid.UUID(claims["sid"]),
            jti=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(exp, tz=UTC),
            coc_id=uuid.UUID(claims["coc"]) if "coc" in claims else None,
        )
    except (KeyError, ValueError, TypeError, OverflowError):
        raise Unauthorized("The access token is invalid.")
    return verified, exp
