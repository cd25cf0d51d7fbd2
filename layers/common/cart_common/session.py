"""Who is calling: a guest, identified by a signed session token.

A guest token is ``v1.<random>.<signature>``: 128 random bits from ``secrets`` and an HMAC-SHA256 of
them under the signing key, both base64url. A forged or damaged token fails the HMAC check without a
database query and counts as no token. The database only ever sees ``sha256(token)``, so a leaked
database row cannot be replayed as a session.

The standard library's ``hmac``/``secrets``/``hashlib`` are the maintained implementation of exactly
this; a JWT library would add a header, a payload and an algorithm choice that a random handle does
not need.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from cart_common.config import Settings, get_settings

TOKEN_VERSION = "v1"
HEADER_NAME = "X-Cart-Session"
_RANDOM_BYTES = 16


@dataclass(frozen=True)
class Owner:
    """The key a cart is stored under: a Cognito ``sub`` or the hash of a guest token."""

    kind: Literal["guest", "user"]
    key: str


@dataclass(frozen=True)
class Session:
    owner: Owner
    guest_token: str | None = None  # the raw token, only to send back to the client
    is_new: bool = False  # minted by this request: the client must be told


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _signature(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def mint_token(keys: tuple[bytes, ...]) -> str:
    body = f"{TOKEN_VERSION}.{_b64(secrets.token_bytes(_RANDOM_BYTES))}"
    return f"{body}.{_signature(keys[0], body)}"


def verify_token(token: str, keys: tuple[bytes, ...]) -> bool:
    """True when any current key signed the token (the first key signs; the rest allow rotation)."""
    if len(token) > 128 or token.count(".") != 2:
        return False
    body, _, signature = token.rpartition(".")
    if not body.startswith(f"{TOKEN_VERSION}."):
        return False
    return any(hmac.compare_digest(_signature(key, body), signature) for key in keys)


@lru_cache(maxsize=1)
def _cached_keys(source: tuple[str | None, str | None, str | None]) -> tuple[bytes, ...]:
    inline, secret_arn, parameter = source
    if inline:
        raw = inline
    elif secret_arn:
        # Imported here so a cold start that never needs AWS does not pay for boto3.
        from aws_lambda_powertools.utilities import parameters

        raw = parameters.get_secret(secret_arn, max_age=300)
    elif parameter:
        from aws_lambda_powertools.utilities import parameters

        raw = parameters.get_parameter(parameter, decrypt=True, max_age=300)
    else:
        raise RuntimeError("No session signing key: set SESSION_SIGNING_KEY, SESSION_KEY_SECRET_ARN or SESSION_KEY_PARAMETER")
    keys = tuple(part.strip().encode("utf-8") for part in str(raw).split(",") if part.strip())
    if not keys or any(len(key) < 32 for key in keys):
        raise RuntimeError("Session signing keys must be at least 32 characters")
    return keys


def signing_keys(settings: Settings | None = None) -> tuple[bytes, ...]:
    settings = settings or get_settings()
    return _cached_keys((settings.session_signing_key, settings.session_key_secret_arn, settings.session_key_parameter))


def _presented_tokens(headers: dict[str, str], cookies: list[str], cookie_name: str) -> list[str]:
    """The header first (apps set it deliberately), then the cookie."""
    found = []
    header = headers.get(HEADER_NAME.lower())
    if header:
        found.append(header.strip())
    prefix = f"{cookie_name}="
    for cookie in cookies:
        for part in cookie.split(";"):
            part = part.strip()
            if part.startswith(prefix):
                found.append(part[len(prefix) :])
    return found


def resolve_guest(headers: dict[str, str], cookies: list[str], settings: Settings | None = None) -> Session:
    """The caller's guest session, or a new one when no valid token was presented."""
    settings = settings or get_settings()
    keys = signing_keys(settings)
    for token in _presented_tokens(headers, cookies, settings.session_cookie_name):
        if verify_token(token, keys):
            return Session(owner=Owner("guest", hash_token(token)), guest_token=token)
    token = mint_token(keys)
    return Session(owner=Owner("guest", hash_token(token)), guest_token=token, is_new=True)
