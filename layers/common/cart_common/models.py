"""Request and response models: camelCase on the wire, unknown request fields rejected, money in
integer minor units beside an ISO 4217 currency code."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from cart_common.config import MAX_LINE_ATTRIBUTES

# Bounds that keep a request far from integer overflow; the business limit (per-line maximum,
# stock) is checked against configuration and the catalog and answered with its own problem code.
_MAX_REQUEST_QUANTITY = 1_000_000
# A price fits the cart's arithmetic with room to spare (quantity x price stays a JavaScript-safe
# integer for any quantity a line may hold).
_MAX_PRICE = 10**9

# PostgreSQL text cannot hold NUL: such input is refused here, as a 422 naming the field.
_NO_NUL = r"^[^\x00]*$"
AttributeKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_NO_NUL)]
# Storefronts read JSON in JavaScript: an integer attribute must survive as a double.
_JS_SAFE_INTEGER = 2**53 - 1
_MAX_ATTRIBUTE_TEXT = 256


def _attribute_value(value: Any) -> str | int | bool:
    """One check, so a refusal names the attribute (a union would name each of its members)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and -_JS_SAFE_INTEGER <= value <= _JS_SAFE_INTEGER:
        return value
    if isinstance(value, str) and len(value) <= _MAX_ATTRIBUTE_TEXT and "\x00" not in value:
        return value
    raise ValueError(
        f"an attribute value is text of at most {_MAX_ATTRIBUTE_TEXT} characters (no NUL), "
        f"a whole number within ±{_JS_SAFE_INTEGER}, or true/false"
    )


AttributeValue = Annotated[
    Any,
    PlainValidator(_attribute_value),
    WithJsonSchema({"anyOf": [
        {"type": "string", "maxLength": _MAX_ATTRIBUTE_TEXT},
        {"type": "integer", "minimum": -_JS_SAFE_INTEGER, "maximum": _JS_SAFE_INTEGER},
        {"type": "boolean"},
    ]}),
]  # fmt: skip
DiscountCodeText = Annotated[
    str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True, pattern=_NO_NUL)
]


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)


class RequestModel(WireModel):
    model_config = ConfigDict(extra="forbid")


class AddItem(RequestModel):
    product_id: UUID
    variant_id: UUID | None = None
    quantity: Annotated[int, Field(strict=True, ge=1, le=_MAX_REQUEST_QUANTITY)] = 1
    attributes: Annotated[
        dict[AttributeKey, AttributeValue],
        Field(
            max_length=MAX_LINE_ATTRIBUTES,
            description="The shopper's own choices (a gift note); a variant's "
            "attributes come from the catalog and may only be repeated with the same value",
        ),
    ] = Field(default_factory=dict)


class UpdateItem(RequestModel):
    """Set the quantity (0 removes the line), switch the variant, or both."""

    quantity: Annotated[int, Field(strict=True, ge=0, le=_MAX_REQUEST_QUANTITY)] | None = None
    variant_id: UUID | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateItem:
        if self.quantity is None and self.variant_id is None:
            raise ValueError("send quantity, variantId or both")
        return self


class ProductLine(WireModel):
    """What a cart line and a saved item both show of the product they hold."""

    id: UUID
    product_id: UUID
    variant_id: UUID | None
    sku: str | None
    name: str
    slug: str = Field(description="The product's slug, as the catalog names it (GET /catalog/products/{slug})")
    image_url: str | None
    attributes: dict[str, Any]
    quantity: int
    unit_price: int = Field(description="Current price, minor units")


class CartItem(ProductLine):
    price_at_add: int = Field(description="Price when the line was last added to, minor units")
    price_changed: bool
    price_drop: bool = Field(description="The current price is lower than when the line was added")
    line_total: int
    available: bool = Field(description="The product is active and in stock for this quantity")
    max_quantity: int = Field(description="Most this line may hold now: stock and the per-line maximum")


class Totals(WireModel):
    subtotal: int
    discount: int = Field(description="Never more than the subtotal")
    shipping: int
    tax: int = Field(
        description="Tax on subtotal - discount + shipping at taxRate, rounded half up once per cart; "
        "contained in the prices when taxIncluded, else added to the total"
    )
    total: int = Field(description="subtotal - discount + shipping, + tax unless taxIncluded; never negative")
    free_shipping_remaining: int = Field(
        default=0, description="How much more to spend for free shipping (0 when it is free already)"
    )
    tax_rate: int = Field(
        default=0, description="The cart currency's tax rate in basis points (825 = 8.25 %); 0: calculated at checkout"
    )
    tax_included: bool = Field(default=False, description="Prices (and shipping) include the tax")


class SavedItem(ProductLine):
    price_at_save: int
    price_dropped: bool = Field(description="Cheaper now than when it was saved")
    back_in_stock: bool = Field(description="Was out of stock when saved, in stock now")
    available: bool


class AppliedDiscount(WireModel):
    code: str
    kind: Literal["percent", "fixed"]
    value: int = Field(description="Percent, or minor units for a fixed amount")
    amount: int = Field(description="What it takes off this cart now, minor units")
    applicable: bool
    reason: str | None = Field(
        default=None, description="Why it takes nothing off now: expired, minimum_not_met, usage_limit_reached, ..."
    )


class Cart(WireModel):
    id: UUID | None = Field(description="null until the first item is added")
    version: int
    currency: str
    items: list[CartItem]
    item_count: int = Field(description="Sum of quantities")
    subtotal: int
    totals: Totals
    discount_codes: list[AppliedDiscount] = Field(default_factory=list)
    saved_for_later: list[SavedItem] = Field(default_factory=list)


class ApplyDiscountCode(RequestModel):
    code: DiscountCodeText


# --- client sync (POST /cart/sync) ----------------------------------------------------------------

_MAX_SYNC_LINES = 100


class SyncLine(RequestModel):
    product_id: UUID
    variant_id: UUID | None = None
    quantity: Annotated[int, Field(strict=True, ge=1, le=_MAX_REQUEST_QUANTITY)]


class SyncCart(RequestModel):
    """The cart as the client holds it (e.g. built offline): every line, once."""

    items: Annotated[list[SyncLine], Field(max_length=_MAX_SYNC_LINES)]

    @field_validator("items")
    @classmethod
    def _one_line_per_product_and_variant(cls, items: list[SyncLine]) -> list[SyncLine]:
        keys = [(line.product_id, line.variant_id) for line in items]
        if len(set(keys)) != len(keys):
            raise ValueError("each productId+variantId may appear once")
        return items


class SyncConflict(WireModel):
    product_id: UUID
    variant_id: UUID | None
    client_quantity: int = Field(description="0: the line is not in the client's copy")
    server_quantity: int = Field(description="0: the line was not in the server's cart")
    resolved: int = Field(description="What the cart holds now (0: no line)")
    reason: (
        Literal[
            "product_not_found",
            "variant_required",
            "unavailable",
            "requires_auth",
            "currency_mismatch",
            "incompatible",
            "out_of_stock",
            "insufficient_stock",
            "max_quantity_per_line",
            "max_per_customer",
            "max_lines_per_cart",
            "max_cart_value",
        ]
        | None
    ) = Field(default=None, description="Why resolved is less than the strategy asked for")


class SyncResult(WireModel):
    cart: Cart = Field(description="The truth after the sync: the client replaces its copy with it")
    conflicts: list[SyncConflict] = Field(
        description="Every line where the client and the server differed, or that did not end as the client held it"
    )


# --- many changes at once (POST /cart/items/bulk) and "buy again" (POST /cart/reorder) ----------

# The most changes one request may carry: as many as a cart has lines by default (MAX_LINES_PER_CART)
# and as a sync sends, so a whole cart can be changed at once, while one request's transaction (its
# row locks, the statement's work) stays small: 100 changes are judged in a few milliseconds
# (bench/BULK.md).
MAX_BULK_CHANGES = 100
_BY_LINE = "Name the line by itemId, or by productId (and variantId for a product with variants), not both"


class _LineChange(RequestModel):
    """A change of a line the cart has: by its id, or by the product (and variant) it holds."""

    item_id: UUID | None = None
    product_id: UUID | None = None
    variant_id: UUID | None = None

    @model_validator(mode="after")
    def _one_way_to_name_the_line(self) -> _LineChange:
        if (self.item_id is None) == (self.product_id is None) or (self.item_id and self.variant_id):
            raise ValueError(_BY_LINE)
        return self


class AddChange(AddItem):
    """An add, by the rules of ``POST /cart/items``."""

    op: Literal["add"]


class SetChange(_LineChange):
    """A line's quantity set, by the rules of ``PATCH /cart/items/{itemId}`` (0 removes it)."""

    op: Literal["set"]
    quantity: Annotated[int, Field(strict=True, ge=0, le=_MAX_REQUEST_QUANTITY)]


class RemoveChange(_LineChange):
    """A line removed, as ``DELETE /cart/items/{itemId}``."""

    op: Literal["remove"]


LineChangeRequest = Annotated[AddChange | SetChange | RemoveChange, Field(discriminator="op")]


def _count_first(changes: Any) -> Any:
    """Too many changes is refused as such (422 too_many_changes), before any change is validated."""
    if isinstance(changes, list) and len(changes) > MAX_BULK_CHANGES:
        from cart_common.errors import TooManyChanges

        # Not a ValueError: pydantic lets it through as the problem it is, instead of a field error.
        raise TooManyChanges(allowed=MAX_BULK_CHANGES, received=len(changes))
    return changes


class BulkChanges(RequestModel):
    """Changes applied all or none, in one transaction and one new cart version; each line at most
    once per request."""

    changes: Annotated[
        list[LineChangeRequest],
        BeforeValidator(_count_first),
        Field(min_length=1, max_length=MAX_BULK_CHANGES),
    ]

    def rows(self) -> list[dict[str, Any]]:
        """The changes as the statement reads them (one record each, absent fields null)."""
        fields = ("op", "item_id", "product_id", "variant_id", "quantity", "attributes")
        return [{name: c.get(name) for name in fields} for c in self.model_dump(mode="json")["changes"]]

    def __repr__(self) -> str:
        # Powertools formats a route's arguments into a debug line on every call, logged or not: a
        # hundred changes' reprs cost more than their query's planning.
        return f"BulkChanges({len(self.changes)} changes)"


class Reorder(RequestModel):
    """``POST /cart/reorder``: the order (as the order service named it when it completed the checkout)."""

    order_id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]


class OrderLine(WireModel):
    product_id: UUID
    variant_id: UUID | None
    quantity: int


class ChangeProblem(WireModel):
    """A refused change: the problem its single route answers (and its extension members, e.g.
    maxAvailable), with the change's position and what it named."""

    model_config = ConfigDict(extra="allow")

    index: int = Field(description="The change's position in the request (from 0), or the order line's")
    type: str
    title: str
    status: int
    detail: str
    code: str
    product_id: UUID | None = None
    variant_id: UUID | None = None
    name: str | None = Field(default=None, description="The product's name, when the catalog has it")
    quantity: int | None = None


class ReorderResult(WireModel):
    cart: Cart
    added: list[OrderLine] = Field(description="The order's lines now in the cart (added to a line it had, or new)")
    skipped: list[ChangeProblem] = Field(description="The order's lines that could not be added now, and why")


class Problem(WireModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str


class MergeLine(WireModel):
    product_id: UUID
    variant_id: UUID | None
    guest_quantity: int = Field(description="Quantity in the guest cart")
    user_quantity: int = Field(description="Quantity the user's cart had before")
    quantity: int = Field(description="Quantity now in the user's cart")


class CappedLine(MergeLine):
    requested: int = Field(description="What the merge strategy asked for")
    reason: Literal["insufficient_stock", "limit_exceeded", "out_of_stock"]


class SkippedLine(MergeLine):
    reason: Literal["currency_mismatch", "unavailable", "out_of_stock", "max_lines_per_cart"]


class RemovedLine(WireModel):
    product_id: UUID
    variant_id: UUID | None
    quantity: int


class MergeReport(WireModel):
    """What a sign-in merge did, line by line, so a storefront can tell the shopper."""

    outcome: Literal["adopted", "merged", "already_merged", "nothing_to_merge"]
    strategy: Literal["sum", "max", "replace"]
    added: list[MergeLine] = Field(description="Guest lines new to the user's cart")
    combined: list[MergeLine] = Field(description="Guest lines folded into a line the user had")
    capped: list[CappedLine] = Field(description="Lines that got less than the strategy asked for, and why")
    skipped: list[SkippedLine] = Field(description="Guest lines that could not be carried over, and why")
    removed: list[RemovedLine] = Field(description="The user's lines the guest cart replaced (strategy replace)")


class MergeResult(WireModel):
    cart: Cart
    merge: MergeReport


class RecoverCart(RequestModel):
    token: str = Field(
        min_length=1, max_length=512, description="The token of a recovery link (its token query parameter)"
    )


class CheckoutRequest(RequestModel):
    accept_price_changes: bool = Field(
        default=False, description="The shopper saw the new prices: take them instead of stopping with price_changed"
    )


# --- accepting changed prices (POST /cart/prices/accept) -------------------------------------------


class AcceptedPrice(RequestModel):
    item_id: UUID
    unit_price: Annotated[int, Field(strict=True, ge=0, le=_MAX_PRICE)] | None = Field(
        default=None,
        description="The price the shopper was shown for the line, minor units: when the line sells at another "
        "price now, nothing is accepted (409 price_changed, with the cart at its current prices)",
    )


class AcceptPrices(RequestModel):
    """The lines whose current price the shopper accepts (default: every line whose price changed)."""

    items: Annotated[list[AcceptedPrice], Field(min_length=1, max_length=_MAX_SYNC_LINES)] | None = None

    @field_validator("items")
    @classmethod
    def _one_entry_per_line(cls, items: list[AcceptedPrice] | None) -> list[AcceptedPrice] | None:
        if items is not None and len({line.item_id for line in items}) != len(items):
            raise ValueError("each itemId may appear once")
        return items


class Alternative(WireModel):
    """An in-stock variant of the same product, offered when the chosen one is not available."""

    variant_id: UUID
    sku: str
    attributes: dict[str, Any]
    unit_price: int
    available: int


class ValidationIssue(WireModel):
    item_id: UUID
    type: Literal["out_of_stock", "insufficient_stock", "price_changed", "unavailable", "limit_exceeded"]
    message: str
    current_stock: int | None = None
    current_price: int | None = None
    previous_price: int | None = Field(
        default=None, description="price_changed: the price the line was added at (or last accepted at)"
    )
    alternatives: list[Alternative] | None = None


class Validation(WireModel):
    valid: bool
    issues: list[ValidationIssue]
    cart: Cart


class CheckoutResult(WireModel):
    checkout_id: UUID
    expires_at: datetime
    cart: Cart


class CompletedCheckout(WireModel):
    checkout_id: UUID
    cart_id: UUID
    user_id: str | None
    recovered: bool = Field(description="The cart had been marked abandoned before it was converted")
    order_id: str | None = Field(default=None, description="The order that completed the checkout")
    replay: bool = Field(default=False, description="Completed before by the same order: nothing changed now")


class CompleteCheckout(RequestModel):
    """``POST /checkouts/{checkoutId}/complete``: the order the payment made."""

    order_id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]


class ReleaseCheckout(RequestModel):
    """``POST /checkouts/{checkoutId}/release``: why (default ``cancelled``)."""

    reason: Literal["payment_failed", "cancelled"] = "cancelled"


class ReleasedCheckout(WireModel):
    checkout_id: UUID
    outcome: Literal["released", "already_released"]


# --- abandoned carts (GET /admin/carts/abandoned) ------------------------------------------------


class AbandonedItem(WireModel):
    product_id: UUID
    variant_id: UUID | None
    name: str
    quantity: int
    unit_price: int = Field(description="Price when the cart was marked abandoned, minor units")


class AbandonedCart(WireModel):
    id: UUID
    user_id: str | None = Field(description="Cognito sub; null for a guest's cart and for an anonymised record")
    user_email: str | None = Field(description="Captured at sign-in; null when unknown or anonymised")
    items: list[AbandonedItem] = Field(description="The lines when the cart was marked abandoned")
    total_value: int = Field(description="Their value when the cart was marked abandoned, minor units")
    currency: str
    last_activity: datetime
    abandoned_at: datetime
    recovery_url: str | None = Field(
        default=None,
        description="The storefront's link that brings this cart back (POST /cart/recover); null: no STOREFRONT_URL",
    )


class AbandonedCarts(WireModel):
    carts: list[AbandonedCart]
    total: int = Field(description="How many carts match the filters (all pages)")


# --- cart analytics (GET /admin/analytics/carts, docs/admin.md#cart-analytics) --------------------

AnalyticsBucketSize = Literal["day", "week", "month"]
Rate = Annotated[float | None, Field(description="A ratio (0.25 = 25 %), 4 decimals; null when nothing to divide by")]


class RefusalCounts(WireModel):
    """Changes refused (422/409 answered, nothing changed) by why."""

    stock: int = Field(description="insufficient_stock: not enough available stock")
    limits: int = Field(description="limit_exceeded: a line, cart or saved-list limit")
    rules: int = Field(description="restricted, incompatible, currency_mismatch: the catalog's purchase rules")


class CartFigures(WireModel):
    created: int = Field(description="Carts created")
    active: int | None = Field(
        description="Open carts (not converted, merged or marked abandoned) changed within the abandonment "
        "window, at the period's last rollup; null when no rollup ran in it"
    )
    abandoned: int = Field(description="Carts the sweep marked abandoned (CartAbandoned)")
    recovered: int = Field(description="Abandoned carts won back: by their recovery link or an order (CartRecovered)")
    converted: int = Field(description="Carts whose checkout an order completed (CheckoutCompleted)")
    abandonment_rate: Rate = Field(description="abandoned / (abandoned + converted)")
    recovery_rate: Rate = Field(
        description="recovered / abandoned (above 1 when the period wins back carts abandoned before it)"
    )
    refusals: RefusalCounts


class AnalyticsBucket(CartFigures):
    start: date = Field(description="The bucket's first day (UTC) within the range")
    end: date = Field(description="Its last day within the range")
    days_without_data: int = Field(description="Days of the bucket no rollup has computed (counted as nothing)")


class CartValue(WireModel):
    """Average cart value in one currency: the lines' value (before discounts, shipping and tax)."""

    currency: str
    converted_carts: int
    converted_average: int | None = Field(description="Minor units, rounded half up; null without a converted cart")
    abandoned_carts: int
    abandoned_average: int | None = Field(description="Minor units, rounded half up; null without an abandoned cart")


class ProductCount(WireModel):
    product_id: UUID
    name: str | None = Field(description="The product's name now; null if it no longer exists")
    count: int = Field(description="Abandoned carts holding it (mostAbandoned), lines of it removed (mostRemoved)")
    units: int


class CartAnalytics(WireModel):
    start: date = Field(alias="from", description="The range's first day (UTC)")
    end: date = Field(alias="to", description="The range's last day (UTC), inclusive")
    bucket: AnalyticsBucketSize
    as_of: datetime | None = Field(description="When the rollup last ran (figures are as of then); null: never")
    totals: CartFigures
    average_cart_value: list[CartValue]
    most_abandoned: list[ProductCount]
    most_removed: list[ProductCount]
    series: list[AnalyticsBucket]


# --- the admin API (docs/admin.md) and the public catalog (GET /catalog/products) -----------------

# Stock fits PostgreSQL's integer.
_MAX_STOCK = 2**31 - 1
_MAX_VARIANTS = 100
_MAX_VARIANT_ATTRIBUTES = 20

ProductName = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True, pattern=_NO_NUL)]
Slug = Annotated[
    str,
    StringConstraints(max_length=120, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"),
    Field(description="Lower-case letters, digits and inner hyphens: the product page's address"),
]
ImageUrl = Annotated[
    str,
    StringConstraints(max_length=2048, pattern=r"^(?:https://[\x21-\x7e]+|/[\x21-\x7e]*)$"),
    Field(description="An https URL, or a path on the storefront's own host"),
]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), Field(description="ISO 4217")]
Price = Annotated[int, Field(strict=True, ge=0, le=_MAX_PRICE, description="Minor units")]
Stock = Annotated[int, Field(strict=True, ge=0, le=_MAX_STOCK)]
PerOrder = Annotated[int, Field(strict=True, ge=1, le=_MAX_REQUEST_QUANTITY)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
GroupName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
VariantAttributes = Annotated[
    dict[AttributeKey, AttributeValue],
    Field(max_length=_MAX_VARIANT_ATTRIBUTES, description='What tells the variants apart, e.g. {"size": "M"}'),
]
# Cognito subs are UUIDs; other issuers' subjects are printable without quotes or backslashes.
UserId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@+-]+$")]


class _Changes(RequestModel):
    """A PATCH body: only the fields sent change; ``null`` clears a field that may be empty and is
    refused for one that may not (``not_null``)."""

    not_null: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _something_to_change(self) -> _Changes:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        cleared = [name for name in self.not_null if name in self.model_fields_set and getattr(self, name) is None]
        if cleared:
            raise ValueError(f"{', '.join(to_camel(name) for name in cleared)} may not be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields sent, as the database names them."""
        return self.model_dump(mode="json", exclude_unset=True)


class NewVariant(RequestModel):
    sku: Sku
    attributes: VariantAttributes = Field(default_factory=dict)
    price: Price | None = Field(default=None, description="Minor units; null: the product's price")
    stock: Stock = 0
    active: bool = True


class NewProduct(RequestModel):
    name: ProductName
    slug: Slug
    image_url: ImageUrl | None = None
    price: Price
    currency: CurrencyCode
    stock: Stock = Field(default=0, description="A product without variants only; each variant has its own")
    max_per_order: PerOrder | None = Field(default=None, description="Most one cart line may hold")
    max_per_customer: PerOrder | None = Field(default=None, description="Most one cart may hold, over its variants")
    requires_auth: bool = Field(default=False, description="Signed-in shoppers only")
    exclusive_group: GroupName | None = Field(default=None, description="One product of the group per cart")
    active: bool = True
    variants: Annotated[list[NewVariant], Field(max_length=_MAX_VARIANTS)] = Field(default_factory=list)

    @field_validator("variants")
    @classmethod
    def _one_sku_once(cls, variants: list[NewVariant]) -> list[NewVariant]:
        skus = [variant.sku for variant in variants]
        if len(set(skus)) != len(skus):
            raise ValueError("each sku may appear once")
        return variants


class ProductChanges(_Changes):
    """``PATCH /admin/products/{productId}``. The currency is not among them: the carts holding the
    product are priced in it (a product in another currency is another product). Retire: active false."""

    not_null: ClassVar[tuple[str, ...]] = ("name", "slug", "price", "requires_auth", "active")

    name: ProductName | None = None
    slug: Slug | None = None
    image_url: ImageUrl | None = None
    price: Price | None = None
    max_per_order: PerOrder | None = None
    max_per_customer: PerOrder | None = None
    requires_auth: bool | None = None
    exclusive_group: GroupName | None = None
    active: bool | None = None


class VariantChanges(_Changes):
    """``PATCH /admin/variants/{variantId}`` (price null: the product's). Retire: active false."""

    not_null: ClassVar[tuple[str, ...]] = ("sku", "attributes", "active")

    sku: Sku | None = None
    attributes: VariantAttributes | None = None
    price: Price | None = None
    active: bool | None = None


class StockLevel(RequestModel):
    stock: Stock = Field(description="Units on hand; open checkouts' holds are taken from it when read")


class AdminVariant(WireModel):
    id: UUID
    sku: str
    attributes: dict[str, Any]
    price: int | None = Field(description="Its own price, minor units; null: the product's")
    stock: int
    active: bool


class AdminProduct(WireModel):
    id: UUID
    name: str
    slug: str
    image_url: str | None
    price: int
    currency: str
    stock: int
    max_per_order: int | None
    max_per_customer: int | None
    requires_auth: bool
    exclusive_group: str | None
    active: bool
    version: int = Field(description="Raised by every change (sent as ETag; If-Match takes it)")
    variants: list[AdminVariant]


class NewDiscountCode(RequestModel):
    code: Annotated[
        str,
        StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"),
        Field(description="Stored upper-case; shoppers type it in any case"),
    ]
    kind: Literal["percent", "fixed"]
    value: Annotated[int, Field(strict=True, ge=1, le=_MAX_PRICE, description="Percent (1-100) or minor units")]
    currency: CurrencyCode | None = Field(default=None, description="A fixed amount's currency (required for it)")
    min_subtotal: Price = Field(default=0, description="Subtotal the cart must reach, minor units")
    starts_at: datetime | None = Field(default=None, description="ISO 8601 (UTC when no offset)")
    ends_at: datetime | None = Field(default=None, description="ISO 8601 (UTC when no offset); after startsAt")
    usage_limit: Annotated[int, Field(strict=True, ge=1, le=_MAX_STOCK)] | None = Field(
        default=None, description="Completed orders that may use it"
    )

    @model_validator(mode="after")
    def _consistent(self) -> NewDiscountCode:
        if self.kind == "percent" and self.value > 100:
            raise ValueError("a percent value is 1 to 100")
        if (self.kind == "fixed") != (self.currency is not None):
            raise ValueError("a fixed amount needs its currency; a percentage takes none")
        if self.starts_at and self.ends_at and self._utc(self.ends_at) <= self._utc(self.starts_at):
            raise ValueError("endsAt must be after startsAt")
        return self

    @staticmethod
    def _utc(moment: datetime) -> datetime:
        from datetime import UTC

        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class AdminDiscountCode(WireModel):
    code: str
    kind: Literal["percent", "fixed"]
    value: int
    currency: str | None
    min_subtotal: int
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    times_used: int
    active: bool


class ErasedRows(WireModel):
    carts: int = Field(description="The user's carts, and the guest carts merged into them")
    lines: int
    saved_items: int
    discount_links: int = Field(description="Codes applied to those carts (the codes themselves stay)")
    checkouts: int
    open_checkouts_released: int = Field(description="Open checkouts whose held stock is available again")
    reservations: int
    shopper_rows: int = Field(description="The stored email (0 or 1)")
    idempotency_keys: int
    rate_buckets: int
    events: int = Field(description="Outbox events (published or not) naming the user or their carts")
    lists: int = Field(default=0, description="Their lists (docs/lists.md)")
    list_items: int = Field(default=0)
    share_links: int = Field(default=0, description="Their share links, live or expired")


class ErasureReport(WireModel):
    user_id: str
    erased: ErasedRows


class CatalogVariant(WireModel):
    id: UUID
    sku: str
    attributes: dict[str, Any]
    price: int = Field(description="Minor units (its own, or the product's)")
    available_stock: int = Field(description="Stock less what open checkouts hold")


class CatalogProduct(WireModel):
    id: UUID
    slug: str
    name: str
    image_url: str | None
    price: int = Field(description="Minor units; a product with variants sells at each variant's")
    currency: str
    available_stock: int = Field(description="Stock less what open checkouts hold (with variants: their sum)")
    max_per_order: int | None
    requires_auth: bool
    variants: list[CatalogVariant] = Field(description="Active variants only, by SKU")


class CatalogPage(WireModel):
    products: list[CatalogProduct]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null: this is the last")


# --- lists and share links (issue 23, docs/lists.md) ------------------------------------------------

ListName = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True, pattern=_NO_NUL)]
# Why a shopper's line did not all go into the cart (the reasons of POST /cart/sync's conflicts).
AddRefusal = Literal[
    "product_not_found", "variant_required", "unavailable", "requires_auth", "currency_mismatch", "incompatible",
    "out_of_stock", "insufficient_stock", "max_quantity_per_line", "max_per_customer", "max_lines_per_cart",
    "max_cart_value",
]  # fmt: skip


class NewList(RequestModel):
    name: ListName


class ListChanges(RequestModel):
    """``PATCH /lists/{listId}``: rename."""

    name: ListName


class MoveToList(RequestModel):
    list_id: UUID | None = Field(default=None, description="The list; absent or null: the default Wishlist")


class NewShareLink(RequestModel):
    expires_in_days: Annotated[int, Field(strict=True, ge=1, le=365)] | None = Field(
        default=None, description="How long the link works (default 7 days; at most the API's maximum, 30 by default)"
    )


class CopySharedCart(RequestModel):
    token: str = Field(min_length=1, max_length=512, description="The share link's token (the last part of its path)")


class ListSummary(WireModel):
    id: UUID
    name: str
    is_default: bool = Field(description="The Wishlist: where a cart line moved to a list goes by default")
    version: int = Field(description="Raised by every change of the list (sent as ETag; If-Match takes it)")
    item_count: int
    created_at: datetime
    updated_at: datetime


class Lists(WireModel):
    lists: list[ListSummary]
    max_lists: int = Field(description="Lists an owner may keep")
    max_list_items: int = Field(description="Items a list may hold")


class ListItem(ProductLine):
    currency: str = Field(description="The product's currency (a list may hold products in several)")
    price_at_save: int = Field(description="Price when saved (or last added to), minor units")
    price_change: int = Field(description="unitPrice - priceAtSave, minor units (negative: cheaper now)")
    stock_at_save: int = Field(description="Available stock when saved")
    available_stock: int = Field(description="Available stock now: stock less what open checkouts hold")
    available: bool = Field(description="Sold and in stock now")
    back_in_stock: bool = Field(description="Was out of stock when saved, in stock now")
    saved_at: datetime


class ShoppingList(ListSummary):
    items: list[ListItem]


class ListMove(WireModel):
    """A line moved between the cart and a list: both as they now are."""

    cart: Cart
    list: ShoppingList


class AddedLine(WireModel):
    product_id: UUID
    variant_id: UUID | None
    requested: int = Field(description="What the list (or the shared cart) holds")
    added: int = Field(description="What went into the cart (0: nothing)")
    quantity: int = Field(description="What the cart's line holds now")
    reason: AddRefusal | None = Field(default=None, description="Why added is less than requested")


class AddedToCart(WireModel):
    """Lines added to the caller's cart as adds (a list restored, a shared cart copied): the cart, and
    every line with what went in and, when not all of it did, why."""

    cart: Cart
    lines: list[AddedLine]


class ShareLink(WireModel):
    share_id: UUID
    kind: Literal["cart", "list"]
    list_id: UUID | None = Field(description="The shared list (null: the cart as it was when shared)")
    name: str | None = Field(description="The shared list's name")
    token: str = Field(description="Opens GET /shared/{token}; whoever holds it can read what it shares")
    path: str = Field(description="The storefront's page for it: /shared/<token>")
    url: str | None = Field(description="STOREFRONT_URL + path; null without STOREFRONT_URL")
    created_at: datetime
    expires_at: datetime


class ShareLinks(WireModel):
    links: list[ShareLink] = Field(description="The caller's live (unexpired, unrevoked) links")


class SharedItem(WireModel):
    product_id: UUID
    variant_id: UUID | None
    sku: str | None
    name: str
    slug: str = Field(description="The product's page (GET /catalog/products/{slug})")
    image_url: str | None
    attributes: dict[str, Any] = Field(description="The variant's (the owner's own attributes are not shared)")
    quantity: int
    currency: str
    unit_price: int = Field(description="Current price, minor units")
    line_total: int
    available_stock: int
    available: bool = Field(description="Sold and in stock for this quantity now")


class SharedCart(WireModel):
    """What a share link shows: never the owner, their cart or list ids, or their session."""

    kind: Literal["cart", "list"]
    name: str | None = Field(description="A shared list's name")
    items: list[SharedItem]
    item_count: int
    currency: str | None = Field(description="The items' currency; null when they are in several")
    subtotal: int | None = Field(description="At current prices, minor units; null when in several currencies")
    expires_at: datetime
