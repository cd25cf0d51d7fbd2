"""Who is calling: a signed-in user (a Cognito access or ID token in ``Authorization: Bearer``) or a
guest, identified by a signed session token.

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
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from cart_common.config import Settings, get_settings
from cart_common.errors import IdentityUnavailable, InvalidToken

TOKEN_VERSION = "v1"  # noqa: S105 - a format tag, not a secret
HEADER_NAME = "X-Cart-Session"
_RANDOM_BYTES = 16
# Exactly what ``mint_token`` makes: 16 random bytes and a SHA-256 HMAC, unpadded base64url (22 and
# 43 characters). Anything else, non-ASCII included, is a forged token: no session, and no error.
_TOKEN_SHAPE = re.compile(rf"{TOKEN_VERSION}\.[A-Za-z0-9_-]{{22}}\.[A-Za-z0-9_-]{{43}}")


@dataclass(frozen=True)
class Owner:
    """The key a cart is stored under: a Cognito ``sub`` or the hash of a guest token."""

    kind: Literal["guest", "user"]
    key: str


@dataclass
class Session:
    owner: Owner
    guest_token: str | None = None  # the raw guest token, only to send back to the client
    is_new: bool = False  # minted by this request: the client must be told
    guest: Owner | None = None  # a signed-in user's guest session, presented alongside: to merge
    claims: dict[str, Any] = field(default_factory=dict)  # a signed-in user's verified token claims
    merged: bool = False  # the guest session was merged during this request: clear its cookie
    # What the request asked of the cart beyond its body (set by the resolver from headers).
    expected_version: int | None = None  # If-Match
    idempotency_key: str | None = None
    request_hash: str | None = None
    # The cart version the response shows (sent as ETag).
    cart_version: int | None = None
    # Rate limits (issue 14): the client address's keyed hash (never the address), worked out only
    # by a change that may create a guest cart (the one bucket it counts), If-None-Match's versions
    # (None: absent; empty: ``*``), and what each bucket taken left (RateLimit headers).
    address: Callable[[], str | None] = lambda: None
    if_none_match: list[int] | None = None
    rate_limits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_user(self) -> bool:
        return self.owner.kind == "user"


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
    if not _TOKEN_SHAPE.fullmatch(token):
        return False
    body, _, signature = token.rpartition(".")
    return any(hmac.compare_digest(_signature(key, body), signature) for key in keys)


# --- keys: loading and rotation ------------------------------------------------------------------
# One loader and one cache for every set of keys the API holds: the guest-session signing keys here,
# and the trusted forwarders' keys (cart_common/address.py). Keys come from the environment
# (comma-separated), or from a Secrets Manager secret (its AWSCURRENT version's keys, then its
# AWSPREVIOUS version's, so after a rotation what was issued with the previous key still holds), or
# from an SSM parameter ("new,previous" by hand). They are read again after
# ``session_key_max_age_s``; a token (or forwarder key) that no cached key matches makes this
# environment read them again at once (at most every ``_REFRESH_INTERVAL_S``), so a warm environment
# that still holds the old keys accepts what a fresher one already uses.

_REFRESH_INTERVAL_S = 10.0
_PREVIOUS_STAGE = "AWSPREVIOUS"
# A Cognito token's ``exp`` is honoured this many seconds late (clock skew between Cognito and Lambda).
TOKEN_LEEWAY_S = 5
_MIN_KEY_CHARS = 32


@dataclass(frozen=True)
class KeySource:
    """Where a set of keys is read from (the first of these that is set): inline keys
    (comma-separated), a Secrets Manager secret's ARN, an SSM parameter's name."""

    inline: str | None = None
    secret_arn: str | None = None
    parameter: str | None = None

    @property
    def named(self) -> bool:
        """Whether any source is set (an empty value counts as unset)."""
        return bool(self.inline or self.secret_arn or self.parameter)


def _split_keys(raw: str | None) -> list[bytes]:
    return [part.strip().encode("utf-8") for part in str(raw or "").split(",") if part.strip()]


def _secret_version(secret_arn: str, stage: str | None) -> str | None:
    # Imported here so a cold start that never needs AWS does not pay for boto3. Powertools' cache is
    # by name only, so the two stages are read uncached here and cached below, together.
    from aws_lambda_powertools.utilities import parameters

    if stage is None:
        return parameters.get_secret(secret_arn, force_fetch=True)
    try:
        return parameters.get_secret(secret_arn, force_fetch=True, VersionStage=stage)
    except parameters.exceptions.GetParameterError:
        return None  # never rotated: no previous version


def _load_keys(source: KeySource) -> tuple[bytes, ...]:
    """The keys ``source`` names, in order, each once; () when it names none."""
    if source.inline:
        keys = _split_keys(source.inline)
    elif source.secret_arn:
        current = _secret_version(source.secret_arn, None)
        keys = _split_keys(current) + _split_keys(_secret_version(source.secret_arn, _PREVIOUS_STAGE))
    elif source.parameter:
        from aws_lambda_powertools.utilities import parameters

        keys = _split_keys(parameters.get_parameter(source.parameter, decrypt=True, force_fetch=True))
    else:
        return ()
    return tuple(dict.fromkeys(keys))


@dataclass
class KeyRing:
    """One set of keys, read from where ``locate`` finds them in the settings, and cached in this
    execution environment. ``what`` and ``settings`` name them in errors; without ``required`` no
    source means no keys (and no error)."""

    what: str
    settings: str
    locate: Callable[[Settings], KeySource]
    required: bool = True
    source: KeySource | None = None
    keys: tuple[bytes, ...] = ()
    loaded_at: float = float("-inf")

    def get(self, settings: Settings, *, refresh: bool = False) -> tuple[bytes, ...]:
        source = self.locate(settings)
        now = time.monotonic()
        stale = now - self.loaded_at >= settings.session_key_max_age_s
        if source != self.source or stale or (refresh and now - self.loaded_at >= _REFRESH_INTERVAL_S):
            self.keys, self.source, self.loaded_at = self._read(source), source, now
        return self.keys

    def _read(self, source: KeySource) -> tuple[bytes, ...]:
        keys = _load_keys(source)
        if not keys and (self.required or source.named):
            raise RuntimeError(f"No {self.what}: set {self.settings}")
        if any(len(key) < _MIN_KEY_CHARS for key in keys):
            raise RuntimeError(f"Every {self.what} must be at least {_MIN_KEY_CHARS} characters")
        return keys

    def __post_init__(self) -> None:
        _rings.append(self)

    def forget(self) -> None:
        self.source, self.keys, self.loaded_at = None, (), float("-inf")


_rings: list[KeyRing] = []


def forget_keys() -> None:
    """Every key ring's next use reads its keys again (after a SnapStart restore; tests change the
    settings between cases)."""
    for ring in _rings:
        ring.forget()


_key_ring = KeyRing(
    "session signing key",
    "SESSION_SIGNING_KEY, SESSION_KEY_SECRET_ARN or SESSION_KEY_PARAMETER",
    lambda settings: KeySource(
        settings.session_signing_key, settings.session_key_secret_arn, settings.session_key_parameter
    ),
)


def signing_keys(settings: Settings | None = None, *, refresh: bool = False) -> tuple[bytes, ...]:
    """This environment's keys (the first signs), read again once ``session_key_max_age_s`` old, or
    with ``refresh`` when the last read is over ``_REFRESH_INTERVAL_S`` old."""
    return _key_ring.get(settings or get_settings(), refresh=refresh)


def _verified(token: str, settings: Settings) -> bool:
    """The token's signature holds under the keys, read again if none of the cached ones signed it
    (a key rotated since they were read)."""
    if verify_token(token, signing_keys(settings)):
        return True
    if not _TOKEN_SHAPE.fullmatch(token):
        return False  # not a token at all: no rotation explains it
    before = _key_ring.keys
    return signing_keys(settings, refresh=True) != before and verify_token(token, _key_ring.keys)


def sign(body: str, settings: Settings | None = None) -> str:
    """``body``'s HMAC under the current signing key: other signed values (recovery links,
    cart_common/recovery.py) use this key ring, its rotation and its refresh, never one of their own."""
    return _signature(signing_keys(settings or get_settings())[0], body)


def signed(body: str, signature: str, settings: Settings | None = None) -> bool:
    """Whether any current key signed ``body``; if none of the cached ones did, the keys are read
    again (at most every ``_REFRESH_INTERVAL_S``: a key rotated since they were read)."""
    settings = settings or get_settings()

    def by(keys: tuple[bytes, ...]) -> bool:
        return any(hmac.compare_digest(_signature(key, body), signature) for key in keys)

    if by(signing_keys(settings)):
        return True
    before = _key_ring.keys
    return signing_keys(settings, refresh=True) != before and by(_key_ring.keys)


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


def _valid_guest_token(headers: dict[str, str], cookies: list[str], settings: Settings) -> str | None:
    for token in _presented_tokens(headers, cookies, settings.session_cookie_name):
        if _verified(token, settings):
            return token
    return None


def guest_owner(token: str | None, settings: Settings | None = None) -> Owner | None:
    """The guest a token names, when its signature holds (the Cognito trigger's cartSession)."""
    if not token or not _verified(token, settings or get_settings()):
        return None
    return Owner("guest", hash_token(token))


def resolve_guest(headers: dict[str, str], cookies: list[str], settings: Settings | None = None) -> Session:
    """The caller's guest session, or a new one when no valid token was presented."""
    settings = settings or get_settings()
    token = _valid_guest_token(headers, cookies, settings)
    if token:
        return Session(owner=Owner("guest", hash_token(token)), guest_token=token)
    token = mint_token(signing_keys(settings))
    return Session(owner=Owner("guest", hash_token(token)), guest_token=token, is_new=True)


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> Any:
    # PyJWT is imported on the first Bearer token only: guest traffic never pays for it. The
    # client caches the key set across invocations and refetches when it meets an unknown kid.
    import jwt

    return jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=3600, timeout=2)


def verify_bearer(token: str, settings: Settings) -> dict[str, Any]:
    """The claims of a Cognito access or ID token, after checking its signature (the pool's JWKS),
    ``exp``, ``iss``, ``token_use`` and the app client; ``InvalidToken`` otherwise."""
    import jwt

    if not (settings.cognito_issuer and settings.jwks_url and settings.client_ids):
        raise InvalidToken("Sign-in is not configured for this API")
    try:
        key = _jwks_client(settings.jwks_url).get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError as exc:
        raise IdentityUnavailable() from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("The token's signing key is unknown") from exc
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            issuer=settings.cognito_issuer,
            options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False},
            leeway=TOKEN_LEEWAY_S,
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("The token has expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("The token is not valid") from exc
    use = claims.get("token_use")
    if use not in settings.token_uses:
        raise InvalidToken(f"A {use} token is not accepted here")
    client = claims.get("client_id") if use == "access" else claims.get("aud")
    if client not in settings.client_ids:
        raise InvalidToken("The token was issued to another app client")
    return claims


def resolve(headers: dict[str, str], cookies: list[str], settings: Settings | None = None) -> Session:
    """Who is calling. A present Authorization header must hold a valid Cognito token: an invalid
    one is ``InvalidToken`` (401), never a silent fall back to a guest."""
    settings = settings or get_settings()
    authorization = headers.get("authorization")
    if authorization is None:
        return resolve_guest(headers, cookies, settings)
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Use Authorization: Bearer <Cognito access or ID token>")
    claims = verify_bearer(token.strip(), settings)
    guest_token = _valid_guest_token(headers, cookies, settings)
    return Session(
        owner=Owner("user", claims["sub"]),
        guest_token=guest_token,
        guest=Owner("guest", hash_token(guest_token)) if guest_token else None,
        claims=claims,
    )
