"""Settings, read once per execution environment from the function's environment variables."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

# What one line's own attributes may hold, accumulated over every add (a variant's attributes come
# from the catalog and do not count). With at most max_lines_per_cart lines and as many saved items
# these bound a cart's size (docs/api.md, Input limits).
MAX_LINE_ATTRIBUTES = 20
MAX_LINE_ATTRIBUTE_BYTES = 1024  # of the attributes as PostgreSQL's JSON text


@dataclass(frozen=True)
class Limits:
    """The cart limits the rule-checking statements read: ``max_line`` per line (a product's own
    ``max_per_order`` may be lower), ``max_lines`` per cart (and saved items per cart) and
    ``max_value`` of a cart in minor units (None: no limit), and a line's attribute bounds."""

    max_line: int
    max_lines: int | None = None
    max_value: int | None = None
    max_attributes: int = MAX_LINE_ATTRIBUTES
    max_attribute_bytes: int = MAX_LINE_ATTRIBUTE_BYTES

    def params(self) -> dict[str, int | None]:
        """As statement parameters: %(max_line)s, %(max_lines)s, %(max_value)s, %(max_attributes)s,
        %(max_attribute_bytes)s."""
        return asdict(self)


_NUMBER = re.compile(r"^\s*\d+(\.\d+)?\s*$")
_ISO_DURATION = TypeAdapter(timedelta)  # pydantic parses ISO 8601 durations (PT2M, P1DT12H, ...)


def _in_units(unit: timedelta) -> BeforeValidator:
    """A lifecycle duration: a plain number in the setting's own unit (``GUEST_CART_TTL_DAYS=30``),
    or an ISO 8601 duration (``GUEST_CART_TTL_DAYS=PT2M``), so expiry and abandonment can be
    watched locally in minutes. Stored as a (possibly fractional) count of ``unit``."""

    def parse(value: Any) -> Any:
        if isinstance(value, str) and not _NUMBER.match(value):
            if not value.strip().upper().startswith("P"):
                raise ValueError("expected a number or an ISO 8601 duration such as PT2M or P30D")
            return _ISO_DURATION.validate_python(value.strip().upper()) / unit
        return value

    return BeforeValidator(parse)


_TAX_RATE = re.compile(r"^([A-Z]{3}):(\d{1,5})$")


def _tax_rates(value: str) -> dict[str, int]:
    """``TAX_RATES``: comma-separated ``<ISO 4217 code>:<basis points>`` (``USD:825,EUR:2000``), each
    currency once, each rate 0-10000 (0-100 %)."""
    rates: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        if not (match := _TAX_RATE.match(item)) or int(match[2]) > 10_000 or match[1] in rates:
            raise ValueError(f"expected CUR:basis-points pairs such as USD:825,EUR:2000 (0-10000, each once): {item!r}")
        rates[match[1]] = int(match[2])
    return rates


def _checked_tax_rates(value: str) -> str:
    _tax_rates(value)
    return value


Days = Annotated[float, _in_units(timedelta(days=1)), Field(gt=0)]
Hours = Annotated[float, _in_units(timedelta(hours=1)), Field(gt=0)]


@dataclass(frozen=True)
class RatePolicy:
    """A token bucket (issue 14): ``quota`` tokens, refilled at ``quota`` per ``window_s`` seconds;
    ``name`` is what the RateLimit headers call it."""

    name: str
    quota: int
    window_s: int


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    # Database: DATABASE_URL locally; host/port/name plus a Secrets Manager secret in AWS.
    database_url: str | None = None
    db_host: str | None = None
    db_port: int = 5432
    db_name: str = "cart"
    db_secret_arn: str | None = None
    db_connect_timeout_s: Annotated[int, Field(ge=1, le=30)] = 3
    db_statement_timeout_ms: Annotated[int, Field(ge=100)] = 5000
    db_sslmode: str = "prefer"
    # verify-full checks the server's certificate against this bundle (default: the Amazon Root CAs the
    # layer ships, which RDS Proxy's ACM certificates chain to).
    db_sslrootcert: str | None = None
    # IAM authentication (the created RDS Proxy): db_user signs in with a 15-minute token generated
    # locally from the function's role, instead of a password from db_secret_arn.
    db_iam_auth: bool = False
    db_user: str | None = None
    # The migrations' own statement timeout (the API's db_statement_timeout_ms is 5 s).
    migration_statement_timeout_ms: Annotated[int, Field(ge=1000)] = 600_000
    # The migrations only: a Secrets Manager secret ({"username", "password"}) of the application role
    # the API signs in as (db/app_role.py: created, granted only row privileges, given the API's statement
    # timeout). Unset: the API signs in as the migrations' own user, which then gets that timeout.
    app_db_secret_arn: str | None = None

    # Guest sessions: the HMAC key comes from the environment locally, or from
    # Secrets Manager (an ARN) / SSM Parameter Store (a parameter name) in AWS.
    session_signing_key: str | None = None
    session_key_secret_arn: str | None = None
    session_key_parameter: str | None = None
    # Keys (these and the trusted forwarders') are read again after this long, so a rotated key
    # reaches every warm environment.
    session_key_max_age_s: Annotated[int, Field(ge=0, le=3600)] = 300
    session_cookie_name: str = "cart_session"
    # Trusted forwarders (a storefront's server calling for its shoppers): a request whose
    # X-Cart-Forwarder-Key is one of these keys names the shopper's address in X-Cart-Client-Address
    # for the guest-carts bucket (cart_common/address.py). Inline (comma-separated) locally, a
    # Secrets Manager secret in AWS; read and rotated like the signing keys. Unset: no forwarder.
    trusted_forwarder_keys: str | None = None
    trusted_forwarder_key_secret_arn: str | None = None
    session_cookie_max_age_s: int = 30 * 24 * 3600

    # Signed-in users: Cognito tokens. The issuer and the JWKS URL are separate so a local stack
    # can serve the keys from moto while the tokens name the real issuer format.
    cognito_issuer: str | None = None
    cognito_jwks_url: str | None = None  # default: <issuer>/.well-known/jwks.json
    cognito_client_ids: str = ""  # comma-separated app client ids allowed to call the API
    accepted_token_uses: str = "access,id"  # noqa: S105 - which Cognito tokens a Bearer may be

    # Cart rules.
    default_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    # Lifecycle durations take a number (in the unit the name says) or an ISO 8601 duration (PT2M).
    guest_cart_ttl_days: Days = 30
    user_cart_ttl_days: Days = 90
    max_quantity_per_line: Annotated[int, Field(ge=1)] = 99
    max_lines_per_cart: Annotated[int, Field(ge=1)] = 100
    max_cart_value: Annotated[int, Field(ge=1)] | None = 10_000_000  # minor units; unset = no limit
    shipping_flat_rate: Annotated[int, Field(ge=0)] = 499  # minor units, in the cart's currency
    free_shipping_threshold: Annotated[int, Field(ge=0)] | None = 5000  # subtotal after discounts; unset: never free
    # Tax (issue 20; cart_common/view.py ``totals``): a rate in basis points per currency
    # ("USD:825,EUR:2000"; a currency not named has none), on the discounted subtotal plus shipping,
    # rounded half up once per cart; inclusive: contained in the prices (the total unchanged), else
    # added. Unset: no tax here ("calculated at checkout", by the order service).
    tax_rates: Annotated[str, AfterValidator(_checked_tax_rates)] = ""
    tax_inclusive: bool = False
    merge_strategy: Literal["sum", "max", "replace"] = "sum"
    # POST /cart/sync. Summing fits two independent carts (a guest's into the user's at sign-in), but
    # a client's offline copy of the same cart holds the server's lines too: summed, they would
    # count twice. So a sync takes the larger quantity by default; replace lets the client win.
    sync_strategy: Literal["sum", "max", "replace"] = "max"
    checkout_reservation_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    login_url: str = "/auth?next=/checkout"  # where a guest who tries to check out is sent
    # The Cognito trigger must never hold up sign-in: the whole merge gets this long.
    merge_trigger_budget_ms: Annotated[int, Field(ge=100, le=5000)] = 1500

    # Cart lifecycle (the scheduled sweep, cart_common/lifecycle.py).
    abandoned_after_hours: Hours = 24  # no activity this long: abandoned
    abandoned_retention_days: Days = 90  # then anonymised this long after
    # Recovery links (cart_common/recovery.py): <storefront_url>/cart/recover?token=..., valid this
    # long after the cart was marked abandoned. Unset STOREFRONT_URL: no links (recoveryUrl null).
    storefront_url: str | None = None
    recovery_token_ttl_days: Days = 7
    # Lists and share links (issue 23, docs/lists.md): lists per owner (a default "Wishlist" included),
    # items per list, live share links per owner; a link lives share_link_ttl_days unless the owner
    # asks for another time, at most share_link_max_ttl_days.
    max_lists: Annotated[int, Field(ge=1, le=1000)] = 20
    max_list_items: Annotated[int, Field(ge=1, le=1000)] = 100
    max_share_links: Annotated[int, Field(ge=1, le=1000)] = 20
    share_link_ttl_days: Days = 7
    share_link_max_ttl_days: Days = 30
    # Rows per sweep statement: each batch is one short transaction holding only its own rows' locks.
    sweep_batch_size: Annotated[int, Field(ge=1, le=10_000)] = 1000
    # No batch starts with less than this left before the Lambda timeout (capped at half the time
    # the run started with, and never less than twice the slowest batch so far).
    sweep_safety_margin_ms: Annotated[int, Field(ge=0)] = 10_000

    # Abuse controls (issue 14): token buckets of q per w seconds, checked in each change's own
    # round trip; reads are never limited. Why these defaults: the README's "Abuse controls".
    rate_limits_enabled: bool = True
    rate_limit_changes: Annotated[int, Field(ge=1)] = 60  # changes per owner
    rate_limit_changes_window_s: Annotated[int, Field(ge=1)] = 60
    rate_limit_guest_carts: Annotated[int, Field(ge=1)] = 50  # new guest carts per client address
    rate_limit_guest_carts_window_s: Annotated[int, Field(ge=1)] = 3600
    rate_limit_failed_codes: Annotated[int, Field(ge=1)] = 10  # refused discount codes per owner
    rate_limit_failed_codes_window_s: Annotated[int, Field(ge=1)] = 3600
    rate_limit_checkouts: Annotated[int, Field(ge=1)] = 3  # checkouts not completed, per user
    rate_limit_checkouts_window_s: Annotated[int, Field(ge=1)] = 3600

    @property
    def client_ids(self) -> frozenset[str]:
        return frozenset(c.strip() for c in self.cognito_client_ids.split(",") if c.strip())

    @property
    def token_uses(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.accepted_token_uses.split(",") if u.strip())

    @property
    def jwks_url(self) -> str | None:
        if self.cognito_jwks_url:
            return self.cognito_jwks_url
        return f"{self.cognito_issuer.rstrip('/')}/.well-known/jwks.json" if self.cognito_issuer else None

    @property
    def limits(self) -> Limits:
        return Limits(self.max_quantity_per_line, self.max_lines_per_cart, self.max_cart_value)

    def rate_policy(self, name: Literal["changes", "guest_carts", "failed_codes", "checkouts"]) -> RatePolicy | None:
        """The bucket ``name``, or None when rate limits are off."""
        if not self.rate_limits_enabled:
            return None
        quota, window_s = getattr(self, f"rate_limit_{name}"), getattr(self, f"rate_limit_{name}_window_s")
        return RatePolicy(name.replace("_", "-"), quota, window_s)

    def tax_rate(self, currency: str) -> int:
        """The tax rate of ``currency`` in basis points (0 when TAX_RATES does not name it)."""
        return _tax_rates(self.tax_rates).get(currency, 0)

    def cart_ttl_days(self, owner_kind: str) -> float:
        return self.user_cart_ttl_days if owner_kind == "user" else self.guest_cart_ttl_days

    @classmethod
    def from_env(cls) -> Settings:
        fields = {name: os.environ[name.upper()] for name in cls.model_fields if name.upper() in os.environ}
        return cls.model_validate(fields)

    @property
    def request_budget_s(self) -> float:
        """The longest a request can spend on the database before it is answered (a 503 at worst):
        credentials, two connects (``Database.run`` reconnects once) and one statement. A function's
        Lambda timeout must be above it (tests/integration/test_template.py checks each)."""
        # Credentials: an IAM token is signed locally (milliseconds); a Secrets Manager read goes
        # through the VPC endpoint once per max_age. An allowance, not a timeout.
        credentials_s = 1.0
        return credentials_s + 2 * self.db_connect_timeout_s + self.db_statement_timeout_ms / 1000

    @property
    def trigger_budget_s(self) -> float:
        """The sign-in trigger's longest answer: its connect, then the merge's own budget (the trigger
        answers Cognito when that runs out, whatever the database does)."""
        return self.db_connect_timeout_s + self.merge_trigger_budget_ms / 1000


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this execution environment; tests call ``get_settings.cache_clear()``."""
    return Settings.from_env()
