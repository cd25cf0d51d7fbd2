"""Typed errors and the one mapping from an error to an RFC 9457 ``application/problem+json`` body.

Every error a client can see is a ``Problem`` subclass with a stable ``code``. The data-access
module raises the same classes when a rule checked inside SQL fails (see ``raise_problem`` in the
first migration), so a rule has one name whether Python or PostgreSQL enforced it.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_CONTENT_TYPE = "application/problem+json"
# A problem may echo the client's text (a code, a field name): never more than this of any string.
_ECHO_CHARS = 256


def _bounded(value: Any) -> Any:
    return value[: _ECHO_CHARS - 1] + "…" if isinstance(value, str) and len(value) > _ECHO_CHARS else value


class Problem(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"
    headers: ClassVar[dict[str, str]] = {}
    # How to say what went wrong from the problem's extension members, when no detail is given.
    detail_template: ClassVar[str | None] = None
    _registry: ClassVar[dict[str, type[Problem]]] = {}

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        detail = detail or self._describe(extensions)
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def _describe(self, extensions: dict[str, Any]) -> str:
        if self.detail_template:
            try:
                return self.detail_template.format_map(extensions)
            except (KeyError, ValueError):
                pass
        return self.title

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Problem._registry[cls.code] = cls

    def response_headers(self) -> dict[str, str]:
        return dict(self.headers)

    def body(self) -> dict[str, Any]:
        reserved = {
            "type": f"/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": _bounded(self.detail),
            "code": self.code,
        }
        # Extension members never override the standard ones (RFC 9457 section 3.2).
        return reserved | {name: _bounded(value) for name, value in self.extensions.items() if name not in reserved}

    @classmethod
    def from_code(cls, code: str, extensions: dict[str, Any]) -> Problem:
        """The problem a SQL statement raised by name; an unknown name is a server fault."""
        problem_cls = cls._registry.get(code)
        if problem_cls is None:
            return InternalError()
        detail = extensions.pop("detail", None)
        return problem_cls(detail, **extensions)


class ValidationFailed(Problem):
    status = 422
    code = "validation_failed"
    title = "The request is not valid"


class MalformedJson(Problem):
    status = 400
    code = "malformed_json"
    title = "The request body is not valid JSON"


class PayloadTooLarge(Problem):
    status = 413
    code = "payload_too_large"
    title = "The request body is too large"
    detail_template = "Request bodies may be at most {maxBytes} bytes"


class UnsupportedMediaType(Problem):
    status = 415
    code = "unsupported_media_type"
    title = "Send the request body as application/json"


class RouteNotFound(Problem):
    status = 404
    code = "route_not_found"
    title = "No such route"


class ProductNotFound(Problem):
    status = 404
    code = "product_not_found"
    title = "Product not found"
    detail_template = "No active product or variant matches productId {productId}"


class ItemNotFound(Problem):
    status = 404
    code = "item_not_found"
    title = "Cart item not found"
    detail_template = "There is no item {itemId} in your cart"


class SavedItemNotFound(Problem):
    status = 404
    code = "saved_item_not_found"
    title = "Saved item not found"
    detail_template = "There is no saved item {savedId} in your cart"


class VariantRequired(Problem):
    status = 422
    code = "variant_required"
    title = "This product has variants; choose one with variantId"


class CurrencyMismatch(Problem):
    status = 422
    code = "currency_mismatch"
    title = "The product is priced in a different currency from the cart"
    detail_template = "The cart is in {cartCurrency}; this product is priced in {productCurrency}"


class LimitExceeded(Problem):
    status = 422
    code = "limit_exceeded"
    title = "A cart limit would be exceeded"
    detail_template = "{limit} allows at most {allowed}"


class AttributeConflict(Problem):
    status = 422
    code = "attribute_conflict"
    title = "An attribute contradicts the catalog's own for this variant"
    detail_template = "The variant's {attribute} is {catalogValue}; choose the variant that has the value you want"


class Restricted(Problem):
    status = 422
    code = "restricted"
    title = "A purchase restriction applies to this product"
    detail_template = "Restricted: {reason}"


class Incompatible(Problem):
    status = 409
    code = "incompatible"
    title = "This product cannot be in one cart with a product already there"
    detail_template = "Only one product of group {group} per cart; {conflictsWith} is already in the cart"


class DiscountCodeInvalid(Problem):
    status = 422
    code = "discount_code_invalid"
    title = "This discount code cannot be applied"
    detail_template = "Code {discountCode}: {reason}"


class DiscountCodeNotApplied(Problem):
    status = 404
    code = "discount_code_not_applied"
    title = "This discount code is not on the cart"
    detail_template = "Code {discountCode} is not applied to this cart"


class InsufficientStock(Problem):
    status = 409
    code = "insufficient_stock"
    title = "Not enough stock"
    detail_template = "Only {maxAvailable} available"


class ProductUnavailable(Problem):
    status = 409
    code = "product_unavailable"
    title = "The product is no longer available"
    detail_template = "Item {itemId} is no longer sold; remove it from the cart"


class VersionConflict(Problem):
    status = 409
    code = "version_conflict"
    title = "The cart has changed since you read it"
    detail_template = "If-Match named an old version; the cart is at version {currentVersion}"


class InvalidPrecondition(Problem):
    status = 400
    code = "invalid_precondition"
    title = 'If-Match must be a cart version as sent in ETag, e.g. "3"'


class IdempotencyKeyReused(Problem):
    status = 422
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used with a different request"


class IdempotencyReplay(Problem):
    """Raised inside a transaction when the key was already used: the stored response is answered
    instead (never reaches a client as such)."""

    status = 409
    code = "idempotency_replay"
    title = "This request was already processed"


class InvalidIdempotencyKey(Problem):
    status = 400
    code = "invalid_idempotency_key"
    title = "Idempotency-Key must be 1 to 255 visible ASCII characters"


class PriceChanged(Problem):
    """``POST /cart/prices/accept`` named the price the shopper was shown, and the line sells at another
    now: nothing is accepted (the problem carries the cart at its current prices to show instead)."""

    status = 409
    code = "price_changed"
    title = "A price changed again since it was shown"
    detail_template = "{count} line(s) sell at another price than the one shown; see lines"


class CheckoutBlocked(Problem):
    status = 409
    code = "checkout_blocked"
    title = "The cart cannot be checked out as it is"
    detail_template = "{count} line(s) need attention; see issues"


class CartEmpty(Problem):
    status = 409
    code = "cart_empty"
    title = "The cart is empty"


class CheckoutNotFound(Problem):
    status = 404
    code = "checkout_not_found"
    title = "Checkout not found"


class CheckoutExpired(Problem):
    status = 409
    code = "checkout_expired"
    title = "The checkout's reservation has expired or was released; check out again"


class CheckoutConflict(Problem):
    """A completion naming another order than the one that completed the checkout (paid twice?)."""

    status = 409
    code = "checkout_conflict"
    title = "The checkout was completed by another order"
    detail_template = "Checkout {checkoutId} was completed by order {completedOrderId}"


class CheckoutCompletionFailed(Problem):
    """The reservation lapsed and another shopper took some of the stock meanwhile: nothing was sold
    (the CheckoutCompletionFailed event says so too), so the order service refunds the payment."""

    status = 409
    code = "checkout_completion_failed"
    title = "The checkout's reservation lapsed and its stock is no longer available"
    detail_template = "{count} line(s) short; see linesShort"


class RateLimited(Problem):
    """A token bucket of the caller's is empty (``take_token`` in migration 0011): nothing changed."""

    status = 429
    code = "rate_limited"
    title = "Too many requests; retry after the time given"
    detail_template = "The {policy} limit allows {limit} per {windowSeconds} s; retry in {retryAfter} s"

    def response_headers(self) -> dict[str, str]:
        policy, limit, window, retry = (
            self.extensions.get(name) for name in ("policy", "limit", "windowSeconds", "retryAfter")
        )
        return {
            "Retry-After": str(retry),
            "RateLimit-Policy": f'"{policy}";q={limit};w={window}',
            "RateLimit": f'"{policy}";r=0;t={retry}',
        }


class NotModified(Problem):
    """``If-None-Match`` named the cart's current version: 304, no body (not an error, but it
    stops the read's statements in SQL as a problem does)."""

    status = 304
    code = "not_modified"
    title = "Not modified"


class InvalidToken(Problem):
    status = 401
    code = "invalid_token"
    title = "The bearer token is not valid"
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class AuthenticationRequired(Problem):
    status = 401
    code = "authentication_required"
    title = "Sign in first"
    headers = {"WWW-Authenticate": "Bearer"}


class IdentityUnavailable(Problem):
    status = 503
    code = "identity_unavailable"
    title = "The identity provider's keys could not be fetched; retry shortly"
    headers = {"Retry-After": "1"}


class DatabaseUnavailable(Problem):
    status = 503
    code = "database_unavailable"
    title = "The cart store is unavailable; retry shortly"
    headers = {"Retry-After": "1"}


class InternalError(Problem):
    status = 500
    code = "internal_error"
    title = "Internal error"


class Forbidden(Problem):
    status = 403
    code = "forbidden"
    title = "You are not allowed to do this"


# The cart analytics report's range (GET /admin/analytics/carts).
class RangeReversed(Problem):
    status = 422
    code = "range_reversed"
    title = "The range ends before it starts"
    detail_template = "from ({from}) is after to ({to})"


class RangeTooLong(Problem):
    status = 422
    code = "range_too_long"
    title = "The range is longer than the report allows"
    detail_template = "A range may span at most {maxDays} days; this one spans {days}"


# Recovery links (cart_common/recovery.py, POST /cart/recover). A user's cart whose link a guest
# opens is 401 authentication_required; one another user opens is cart_not_found, as is a cart that
# no longer exists: the answer for a cart not yours never says whose it is. A change that needs a
# cart (POST /cart/prices/accept) from a caller who has none is cart_not_found too.
class CartNotFound(Problem):
    status = 404
    code = "cart_not_found"
    title = "There is no such cart"


class RecoveryLinkInvalid(Problem):
    status = 400
    code = "recovery_link_invalid"
    title = "This recovery link is not valid: it may have been cut short when it was copied"


class RecoveryLinkExpired(Problem):
    status = 410
    code = "recovery_link_expired"
    title = "This recovery link has expired"
    detail_template = "The link stopped working at {expiredAt}"


class RecoveryLinkUsed(Problem):
    status = 410
    code = "recovery_link_used"
    title = "This cart was already recovered with this link, in another browser or account"


class RecoveryLinkStale(Problem):
    status = 410
    code = "recovery_link_stale"
    title = "This cart has changed since the link was sent; it is no longer waiting to be recovered"


# The admin API (cart_common/catalog.py, docs/admin.md) and the public catalog route.
class VariantNotFound(Problem):
    status = 404
    code = "variant_not_found"
    title = "Variant not found"
    detail_template = "There is no variant {variantId}"


class SlugTaken(Problem):
    status = 409
    code = "slug_taken"
    title = "Another product has this slug"
    detail_template = "The slug {slug} is taken"


class SkuTaken(Problem):
    status = 409
    code = "sku_taken"
    title = "Another variant has this SKU"
    detail_template = "The SKU {sku} is taken"


class ProductChanged(Problem):
    status = 409
    code = "product_changed"
    title = "The product has changed since you read it"
    detail_template = "If-Match named an old version; the product is at version {currentVersion}"


class DiscountCodeExists(Problem):
    status = 409
    code = "discount_code_exists"
    title = "A discount code with this name exists"
    detail_template = "Code {discountCode} exists (retired codes keep their name)"


class DiscountCodeNotFound(Problem):
    status = 404
    code = "discount_code_not_found"
    title = "There is no such discount code"
    detail_template = "There is no discount code {discountCode}"


# Lists and share links (cart_common/lists.py, cart_common/shares.py, docs/lists.md). Another owner's
# list, item or link is not found, exactly as one that does not exist: the answer never says whose it is.
class ListNotFound(Problem):
    status = 404
    code = "list_not_found"
    title = "List not found"
    detail_template = "You have no list {listId}"


class ListItemNotFound(Problem):
    status = 404
    code = "list_item_not_found"
    title = "List item not found"
    detail_template = "There is no item {listItemId} in this list"


class ListChanged(Problem):
    status = 409
    code = "list_changed"
    title = "The list has changed since you read it"
    detail_template = "If-Match named an old version; the list is at version {currentVersion}"


class ListLimitExceeded(Problem):
    status = 422
    code = "list_limit_exceeded"
    title = "A list limit would be exceeded"
    detail_template = "{limit} allows at most {allowed}"


class ShareNotFound(Problem):
    status = 404
    code = "share_not_found"
    title = "Share link not found"
    detail_template = "You have no live share link {shareId}"


class ShareLinkInvalid(Problem):
    status = 404
    code = "share_link_invalid"
    title = "There is nothing shared at this link: it may have been cut short when it was copied"


class ShareLinkExpired(Problem):
    status = 410
    code = "share_link_expired"
    title = "This share link has expired; ask for a new one"
    detail_template = "The link stopped working at {expiredAt}"


class ShareLinkRevoked(Problem):
    status = 410
    code = "share_link_revoked"
    title = "This share link no longer works: it was revoked, or what it shared was deleted"


# Many changes in one request (POST /cart/items/bulk, POST /cart/reorder; docs/api.md).
class TooManyChanges(Problem):
    """Refused before anything is read or validated further: the bound keeps one request's work (and
    its one transaction's locks) small."""

    status = 422
    code = "too_many_changes"
    title = "Too many changes in one request"
    detail_template = "At most {allowed} changes per request; this one has {received}"


class DuplicateLine(Problem):
    status = 422
    code = "duplicate_line"
    title = "Another change of the same request already changes this line"
    detail_template = "Change {firstIndex} already changes this line: send one change per line"


class OrderNotFound(Problem):
    status = 404
    code = "order_not_found"
    title = "Order not found"
    detail_template = "There is no completed order {orderId} of yours whose lines are still kept"


def change_problem(refusal: dict[str, Any]) -> dict[str, Any]:
    """One refused change of many (``code``, ``index`` and the extension members its single route
    answers with) as that route's problem body, with the change's index: the one mapping again."""
    extensions = dict(refusal)
    return Problem.from_code(str(extensions.pop("code", "internal_error")), extensions).body()


class BulkRejected(Problem):
    """Changes of one request refused (every one listed in ``errors``), so none was made."""

    status = 409
    code = "bulk_rejected"
    title = "Some of the changes cannot be made, so none was"
    detail_template = "{count} change(s) refused, nothing applied; see errors"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        extensions["errors"] = [change_problem(refusal) for refusal in extensions.get("errors") or []]
        super().__init__(detail, **extensions)
