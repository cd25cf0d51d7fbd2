"""The client address a new guest cart counts against (the ``guest-carts`` bucket), and the trusted
forwarders that may name it.

A storefront that calls the API from its own server (a backend-for-frontend) reaches API Gateway
from one address for all its shoppers: counted by ``sourceIp``, its 51st new guest in an hour would
be refused for everyone. Such a forwarder holds a key (``TRUSTED_FORWARDER_KEYS`` locally, a Secrets
Manager secret in AWS, loaded and rotated like the session signing keys); a request that presents
one in ``X-Cart-Forwarder-Key`` has its bucket chosen by ``X-Cart-Client-Address`` instead. Without
a matching key, or with a value that is not an IP address, that header is ignored and ``sourceIp``
counts, as for any client: never an error, since a shopper cannot fix a forwarder's configuration.

An address is normalised before it counts (``ipaddress``): one IPv4 address is one bucket
(``::ffff:a.b.c.d`` included), and IPv6 addresses count by their /64, the prefix one subscriber is
given (privacy extensions rotate the other 64 bits at will, so per-address buckets would limit
nothing). The bucket's key is an HMAC of that under the session signing key, salted with the UTC
day: never the address itself, and never the forwarder key (which no log or problem carries).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from collections.abc import Mapping

from cart_common.config import Settings, get_settings
from cart_common.session import KeyRing, KeySource, signing_keys

FORWARDER_KEY_HEADER = "X-Cart-Forwarder-Key"
CLIENT_ADDRESS_HEADER = "X-Cart-Client-Address"
# The longest IPv6 text (45 characters) with a short zone fits; anything longer is not an address.
_MAX_ADDRESS_CHARS = 64
_IPV6_BUCKET_PREFIX = 64

_forwarder_keys = KeyRing(
    "trusted forwarder key",
    "TRUSTED_FORWARDER_KEYS or TRUSTED_FORWARDER_KEY_SECRET_ARN",
    lambda settings: KeySource(settings.trusted_forwarder_keys, settings.trusted_forwarder_key_secret_arn),
    required=False,
)


def forwarder_keys(settings: Settings | None = None, *, refresh: bool = False) -> tuple[bytes, ...]:
    """This environment's trusted forwarder keys (none when no source is set), cached like the
    signing keys."""
    return _forwarder_keys.get(settings or get_settings(), refresh=refresh)


def _one_of(presented: bytes, keys: tuple[bytes, ...]) -> bool:
    # Every key is compared, each in constant time (a list, not a generator: no early exit).
    return any([hmac.compare_digest(presented, key) for key in keys])


def trusted_forwarder(presented: str | None, settings: Settings | None = None) -> bool:
    """Whether ``presented`` (an ``X-Cart-Forwarder-Key`` value) is a forwarder key. One that no
    cached key matches has the keys read again first (at most every 10 s), so a key rotated in
    since the last read is accepted at once."""
    settings = settings or get_settings()
    keys = forwarder_keys(settings)
    if not presented or not keys:
        return False
    raw = presented.strip().encode("utf-8", "surrogatepass")
    if _one_of(raw, keys):
        return True
    fresh = forwarder_keys(settings, refresh=True)
    return fresh != keys and _one_of(raw, fresh)


def bucket_address(text: str | None) -> str | None:
    """``text`` as its bucket knows it: an IPv4 address; an IPv4-mapped IPv6 address as IPv4; any
    other IPv6 address as its /64 (``2001:db8:1:2::/64``, whatever the spelling). None when ``text``
    is not an IP address."""
    if not text or len(text) > _MAX_ADDRESS_CHARS:
        return None
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        shift = 128 - _IPV6_BUCKET_PREFIX
        return str(ipaddress.IPv6Network((int(address) >> shift << shift, _IPV6_BUCKET_PREFIX)))
    return str(address)


def client_address(headers: Mapping[str, str], source_ip: str | None, settings: Settings | None = None) -> str | None:
    """The address a new guest cart of this request counts against: the one a trusted forwarder
    names, when it is an IP address; else ``sourceIp`` (``headers``' names are lower case)."""
    forwarded = bucket_address(headers.get(CLIENT_ADDRESS_HEADER.lower()))
    if forwarded and trusted_forwarder(headers.get(FORWARDER_KEY_HEADER.lower()), settings):
        return forwarded
    return bucket_address(source_ip) or source_ip or None


def address_key(address: str | None) -> str | None:
    """The client address as a guest-carts bucket knows it: an HMAC under the session signing key,
    salted with the UTC day (rotating: yesterday's keys cannot be linked to today's), never the
    address itself."""
    if not address:
        return None
    day = time.strftime("%Y-%m-%d", time.gmtime())
    salted = f"address:{day}:{address}".encode("utf-8", "surrogatepass")
    return hmac.new(signing_keys()[0], salted, hashlib.sha256).hexdigest()[:32]
