"""Cart operations: what each route does, in terms of the data-access package (``store``) and the
view builders (``view``): who the caller is, idempotency, the lazy merge, version conflicts."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from cart_common import oplog, recovery, store
from cart_common.api import metrics
from cart_common.config import Settings, get_settings
from cart_common.db import Database, Statement, exactly_once, get_database, pipeline, queue
from cart_common.errors import (
    AuthenticationRequired,
    BulkRejected,
    CartEmpty,
    CheckoutBlocked,
    CheckoutCompletionFailed,
    CheckoutConflict,
    CheckoutExpired,
    CheckoutNotFound,
    DiscountCodeInvalid,
    IdempotencyKeyReused,
    IdempotencyReplay,
    InsufficientStock,
    NotModified,
    PriceChanged,
    VersionConflict,
    change_problem,
)
from cart_common.models import (
    AcceptPrices,
    AddItem,
    ApplyDiscountCode,
    BulkChanges,
    Cart,
    CheckoutRequest,
    CheckoutResult,
    CompletedCheckout,
    MergeResult,
    RecoverCart,
    Reorder,
    ReorderResult,
    SyncCart,
    SyncConflict,
    SyncResult,
    UpdateItem,
    Validation,
)
from cart_common.session import Owner, Session
from cart_common.store import CartRows, Row
from cart_common.store import limits as rate
from cart_common.store.recovery import recover_cart as recover_statement
from cart_common.view import EMPTY, build_cart, merge_report, readiness_issues


def _merge_on(conn: psycopg.Connection, user: Owner, guest: Owner, settings: Settings) -> tuple[Row, CartRows]:
    return store.merge_cart(
        conn,
        user,
        guest,
        strategy=settings.merge_strategy,
        limits=settings.limits,
        user_ttl_days=settings.user_cart_ttl_days,
        max_list_items=settings.max_list_items,
    )


def _merged(conn: psycopg.Connection, user: Owner, guest: Owner, settings: Settings) -> MergeResult:
    outcome, view = _merge_on(conn, user, guest, settings)
    return MergeResult(cart=build_cart(view, settings), merge=merge_report(outcome, settings.merge_strategy))


def merge_guest_cart(user: Owner, guest: Owner, database: Database | None = None) -> MergeResult:
    """Merge a guest's cart into a user's: idempotent (a replay is a no-op), atomic, race-free.
    The one merge behind the Cognito trigger, the lazy path and ``POST /cart/merge``."""
    settings = get_settings()
    return (database or get_database()).run(lambda conn: _merged(conn, user, guest, settings))


# (sub, email) pairs this execution environment wrote, and when: an ID token's email is written at
# most once an hour per environment, not on every request (and again after the retention sweep
# may have removed it).
_remembered_emails: dict[tuple[str, str], float] = {}
_REMEMBER_FOR_S = 3600


def remember_email(conn: psycopg.Connection, user: Owner, email: str | None) -> None:
    now = time.monotonic()
    if not email or now - _remembered_emails.get((user.key, email), -_REMEMBER_FOR_S) < _REMEMBER_FOR_S:
        return
    store.remember_email(conn, user, email)
    if len(_remembered_emails) >= 10_000:
        _remembered_emails.clear()
    _remembered_emails[(user.key, email)] = now


def _rate_limits(session: Session, *, creates: bool = False, code: bool = False) -> list[Statement]:
    """The buckets a change of the caller's takes from, in their lock order (see migration 0011):
    its owner's changes; a new guest cart's client address; a code attempt's failed codes."""
    settings, owner = get_settings(), session.owner
    changes, guest_carts = settings.rate_policy("changes"), settings.rate_policy("guest_carts")
    failed_codes = settings.rate_policy("failed_codes")
    statements = [rate.change(changes, owner)] if changes else []
    if guest_carts and creates and owner.kind == "guest" and (address := session.address()):
        statements.append(rate.new_guest_cart(guest_carts, owner, address))
    if failed_codes and code:
        statements.append(rate.codes_left(failed_codes, owner))
    return statements


# --- business metrics (the dashboard and the cart design's alarms in template.yaml) --------------------
_STOCK_ISSUES = frozenset({"out_of_stock", "insufficient_stock"})


def _count(name: str, value: float = 1, unit: str = "Count") -> None:
    # Powertools' Metrics share one metric set per process, flushed by the function's entry point.
    from aws_lambda_powertools import Metrics

    Metrics().add_metric(name=name, unit=unit, value=value)


def run_once[R: BaseModel](
    database: Database, session: Session, scope: str, work: Callable[[psycopg.Connection], R], model: type[R]
) -> tuple[R, bool]:
    """``work`` on this environment's connection; with an Idempotency-Key, exactly once: the key
    claimed, the change made and its response stored in one transaction, and a retry answered the
    stored response (``True``: replayed), or ``IdempotencyKeyReused`` when the key came with another
    request. Every keyed change (the cart's, the lists') goes through here."""
    key, request_hash = session.idempotency_key, session.request_hash
    if not key:
        return database.run(work), False
    assert request_hash is not None

    def once(conn: psycopg.Connection) -> R:
        return exactly_once(
            conn,
            [store.claim_idempotency_key(scope, key, request_hash)],
            work,
            lambda response: [
                store.save_idempotent_response(scope, key, response.model_dump(mode="json", by_alias=True))
            ],
        )

    try:
        return database.run(once), False
    except IdempotencyReplay:
        stored = database.run(partial(store.idempotent_response, scope=scope, key=key))
        if stored is None or stored["request_hash"] != request_hash:
            raise IdempotencyKeyReused() from None
        return model.model_validate(stored["response"]), True


def _cart_of(response: BaseModel) -> Cart:
    return response if isinstance(response, Cart) else response.cart  # type: ignore[attr-defined]


def _execute[Response: (Cart, MergeResult, CheckoutResult, Validation, SyncResult, ReorderResult)](
    session: Session,
    op: Callable[[psycopg.Connection], Response],
    model: type[Response],
    *,
    lazy_merge: bool = True,
    rate_limits: list[Statement] | None = None,
    changes: bool = False,
) -> Response:
    """Run one cart operation for the caller, on this environment's connection:

    - a signed-in caller still carrying a guest session has it merged first (the lazy path: hosted
      UI and social sign-in send no ClientMetadata to the Cognito trigger);
    - with an Idempotency-Key, the key is claimed, the change made and the response stored in one
      transaction, and a retry gets the stored response (exactly once, even when the first
      response was lost after the commit);
    - a stale If-Match is answered with the current cart;
    - ``rate_limits`` (statements) travel at the front of the change's own round trip, and what they
      left is kept for the RateLimit headers;
    - the operations log learns the cart and its versions (``changes``: the operation itself is a
      change of the cart), and a lazy merge gets its line once it is committed.
    """
    settings = get_settings()
    database = get_database()
    scope = f"{session.owner.kind}:{session.owner.key}"
    lazily_merged: list[Row] = []  # the lazy merge's outcome, from the attempt that ran to the end

    def work(conn: psycopg.Connection) -> Response:
        lazily_merged.clear()
        if session.is_user:
            remember_email(conn, session.owner, session.claims.get("email"))
        if lazy_merge and session.guest is not None:
            lazily_merged.append(_merge_on(conn, session.owner, session.guest, settings)[0])
            session.merged = True
        if rate_limits:
            queue(conn, rate_limits, rows=session.rate_limits)
        return op(conn)

    try:
        response, replayed = run_once(database, session, scope, work, model)
    except VersionConflict:
        current = build_cart(database.run(partial(store.cart_rows, owner=session.owner)), settings)
        session.cart_version = current.version
        oplog.cart(current)
        raise VersionConflict(
            currentVersion=current.version, cart=current.model_dump(mode="json", by_alias=True)
        ) from None
    if replayed:
        oplog.cart(_cart_of(response), replay=True)
        session.cart_version = _cart_of(response).version
        return response
    cart = _cart_of(response)
    session.cart_version = cart.version
    merge = response.merge.outcome if isinstance(response, MergeResult) else None
    if lazily_merged:
        merge = lazily_merged[0]["outcome"]
    oplog.cart(cart, changes=changes, merge=merge)
    if lazily_merged and session.guest is not None:
        report = merge_report(lazily_merged[0], settings.merge_strategy)
        oplog.merged(report, via="lazy", user=session.owner, guest=session.guest, cart_id=cart.id)
    return response


def _cart_op(
    session: Session,
    statement: Callable[..., CartRows],
    *,
    rate_limits: list[Statement] | None = None,
    changes: bool = False,
    **params: Any,
) -> Cart:
    settings = get_settings()
    return _execute(
        session, lambda conn: build_cart(statement(conn, **params), settings), Cart,
        rate_limits=rate_limits, changes=changes,
    )  # fmt: skip


def _cart_change(
    session: Session, statement: Callable[..., CartRows], *, rate_limits: list[Statement] | None = None, **params: Any
) -> Cart:
    """A change to the caller's cart: its owner, its expiry and the If-Match come from the session;
    rate-limited (by the owner's changes bucket unless ``rate_limits`` says otherwise). A refusal for
    want of stock gets its line in the operations log."""
    try:
        cart = _cart_op(
            session, statement, change=_change(session),
            rate_limits=_rate_limits(session) if rate_limits is None else rate_limits, changes=True, **params,
        )  # fmt: skip
    except InsufficientStock as refusal:
        oplog.stock_refused(
            available=refusal.extensions.get("maxAvailable"), requested=params.get("quantity"),
            in_cart=refusal.extensions.get("inCart"), product_id=params.get("product_id"),
            variant_id=params.get("variant_id"), item_id=params.get("item_id"), saved_id=params.get("saved_id"),
        )  # fmt: skip
        raise
    if cart.items:
        _count("CartValue", cart.subtotal, "None")  # minor units; the dashboard shows its average
    return cart


def _change(session: Session) -> store.Change:
    """The caller's cart, its expiry from now on and the If-Match version."""
    owner = session.owner
    return store.Change(owner, get_settings().cart_ttl_days(owner.kind), session.expected_version)


def get_cart(session: Session) -> Cart:
    if session.is_new:  # a first visit: there is no cart to read, and a GET writes nothing
        cart = build_cart(EMPTY, get_settings())
        session.cart_version = cart.version
        return cart
    if session.if_none_match is not None:
        try:
            return _cart_op(session, store.cart_rows_unless, owner=session.owner, versions=session.if_none_match)
        except NotModified as unchanged:
            session.cart_version = unchanged.extensions["version"]
            raise
    return _cart_op(session, store.cart_rows, owner=session.owner)


def add_item(session: Session, body: AddItem) -> Cart:
    settings = get_settings()
    return _cart_change(
        session,
        store.add_item,
        rate_limits=_rate_limits(session, creates=True),
        product_id=body.product_id,
        variant_id=body.variant_id,
        quantity=body.quantity,
        attributes=body.attributes,
        limits=settings.limits,
        default_currency=settings.default_currency,
    )


def update_item(session: Session, item_id: UUID, body: UpdateItem) -> Cart:
    if body.quantity == 0:
        return _cart_change(session, store.remove_item, item_id=item_id)
    limits = get_settings().limits
    if body.variant_id is not None:
        return _cart_change(
            session, store.switch_variant, item_id=item_id, variant_id=body.variant_id, quantity=body.quantity,
            limits=limits,
        )  # fmt: skip
    assert body.quantity is not None  # guaranteed by UpdateItem's validator
    return _cart_change(session, store.set_quantity, item_id=item_id, quantity=body.quantity, limits=limits)


def remove_item(session: Session, item_id: UUID) -> Cart:
    return _cart_change(session, store.remove_item, item_id=item_id)


def clear_cart(session: Session) -> Cart:
    return _cart_change(session, store.clear_cart)


def apply_discount_code(session: Session, body: ApplyDiscountCode) -> Cart:
    """A refused code spends a token of the owner's failed-codes bucket (a brute-force signal, and
    counted in the FailedDiscountCodes metric); with none left every attempt is 429."""
    try:
        return _cart_change(
            session, store.apply_discount_code, rate_limits=_rate_limits(session, code=True), code=body.code
        )
    except DiscountCodeInvalid:
        metrics.add_metric(name="FailedDiscountCodes", unit=MetricUnit.Count, value=1)
        policy = get_settings().rate_policy("failed_codes")
        if policy is not None:
            # The refusal rolled its own transaction back, so the failure is charged after it.
            get_database().run(lambda conn: pipeline(conn, [rate.failed_code(policy, session.owner)]))
        raise


def remove_discount_code(session: Session, code: str) -> Cart:
    return _cart_change(session, store.remove_discount_code, code=code)


def save_item(session: Session, item_id: UUID) -> Cart:
    return _cart_change(session, store.save_item, item_id=item_id, limits=get_settings().limits)


def restore_saved_item(session: Session, saved_id: UUID) -> Cart:
    """Back into the cart by the rules of an add (and its problems); refused, it stays saved."""
    return _cart_change(session, store.restore_saved_item, saved_id=saved_id, limits=get_settings().limits)


def accept_prices(session: Session, body: AcceptPrices) -> Cart:
    """``POST /cart/prices/accept``: the shopper takes the current prices of the changed lines (all,
    or those listed), so checkout no longer stops at them: on the server, so no other device or
    reload asks again. A change like any other (version +1 even when no price had changed, expiry,
    If-Match, Idempotency-Key, an open checkout released). Refused because a listed line's price
    moved again since it was shown, the problem carries the cart at its current prices."""
    items = None if body.items is None else [line.model_dump(mode="json") for line in body.items]
    try:
        return _cart_change(session, store.accept_prices, items=items)
    except PriceChanged as moved:
        current = build_cart(get_database().run(partial(store.cart_rows, owner=session.owner)), get_settings())
        session.cart_version = current.version
        cart = current.model_dump(mode="json", by_alias=True)
        raise PriceChanged(moved.detail, **moved.extensions, cart=cart) from None


def sync_cart(session: Session, body: SyncCart) -> SyncResult:
    """``POST /cart/sync``: the client's copy merged into the server cart by ``SYNC_STRATEGY``, in
    one transaction; the answer is the cart the client must now hold, and every line that differed."""
    settings = get_settings()

    def op(conn: psycopg.Connection) -> SyncResult:
        conflicts, rows = store.sync_cart(
            conn,
            _change(session),
            items=[line.model_dump(mode="json") for line in body.items],
            strategy=settings.sync_strategy,
            limits=settings.limits,
            default_currency=settings.default_currency,
        )
        return SyncResult(
            cart=build_cart(rows, settings), conflicts=[SyncConflict.model_validate(c) for c in conflicts]
        )

    # A sync fails when it is refused, or when a line could not end as the client held it.
    _count("SyncRequests")
    try:
        result = _execute(session, op, SyncResult, rate_limits=_rate_limits(session, creates=True), changes=True)
    except Exception:
        _count("SyncFailures")
        raise
    if not (record := oplog.current()) or not record.replay:
        oplog.sync_conflicts(result.conflicts, settings.sync_strategy)
    if any(conflict.reason for conflict in result.conflicts):
        _count("SyncFailures")
    return result


def _stock_refusals(refusals: list[dict[str, Any]]) -> None:
    """The stock refusals among many changes' (a bulk change's, a reorder's), each a line of the
    operations log as a single change's is."""
    for refusal in refusals:
        if refusal.get("code") == "insufficient_stock":
            oplog.stock_refused(
                available=refusal.get("maxAvailable"), requested=refusal.get("quantity"),
                in_cart=refusal.get("inCart"), product_id=refusal.get("productId"),
                variant_id=refusal.get("variantId"), item_id=refusal.get("itemId"),
            )  # fmt: skip


def bulk_change(session: Session, body: BulkChanges) -> Cart:
    """``POST /cart/items/bulk``: every change by the rules of its single route, all or none, in one
    round trip and one new version (store/sql/_bulk_apply.sql); refused, ``BulkRejected`` lists
    every refused change with its index and its problem."""
    settings = get_settings()
    try:
        return _cart_change(
            session, store.bulk_change, rate_limits=_rate_limits(session, creates=True), requested=body.rows(),
            limits=settings.limits, default_currency=settings.default_currency,
        )  # fmt: skip
    except BulkRejected as refusal:
        _stock_refusals(refusal.extensions["errors"])
        raise


def reorder(session: Session, body: Reorder) -> ReorderResult:
    """``POST /cart/reorder`` ("buy again"): the lines of one of the caller's completed orders added
    to the cart, each by the rules of an add. Not all or none: a past order's products may be gone
    or short, and the shopper wants what can be added now, told what could not (``skipped``, each
    with its problem). An order of which nothing can be added is ``BulkRejected`` (nothing changes);
    another owner's order is ``OrderNotFound``. Orders are signed-in shoppers': a guest is sent to
    sign in."""
    settings = get_settings()
    if not session.is_user:
        raise AuthenticationRequired("Sign in to buy an order again", loginUrl=settings.login_url)

    def op(conn: psycopg.Connection) -> ReorderResult:
        report, rows = store.reorder(
            conn, _change(session), order_id=body.order_id, limits=settings.limits,
            default_currency=settings.default_currency,
        )  # fmt: skip
        skipped = [change_problem(refusal) for refusal in report["skipped"]]
        return ReorderResult.model_validate({"cart": build_cart(rows, settings), "added": report["added"],
                                             "skipped": skipped})  # fmt: skip

    try:
        result = _execute(session, op, ReorderResult, rate_limits=_rate_limits(session), changes=True)
    except BulkRejected as refusal:
        _stock_refusals(refusal.extensions["errors"])
        raise
    if not (record := oplog.current()) or not record.replay:
        _stock_refusals([skipped.model_dump(mode="json", by_alias=True) for skipped in result.skipped])
    return result


def merge_cart(session: Session) -> MergeResult:
    """``POST /cart/merge``: the caller must be signed in; the guest session is optional (without
    one there is nothing to merge and the answer is the user's cart)."""
    if not session.is_user:
        raise AuthenticationRequired("Sign in, then send the guest session (cookie or X-Cart-Session) to merge")
    settings = get_settings()
    guest = session.guest
    if guest is None:
        empty = {"outcome": "nothing_to_merge", "lines": [], "removed": []}
        return _execute(
            session,
            lambda conn: MergeResult(
                cart=build_cart(store.cart_rows(conn, session.owner), settings),
                merge=merge_report(empty, settings.merge_strategy),
            ),
            MergeResult,
            rate_limits=_rate_limits(session),
        )
    result = _execute(
        session,
        lambda conn: _merged(conn, session.owner, guest, settings),
        MergeResult,
        lazy_merge=False,
        rate_limits=_rate_limits(session),
    )
    session.merged = True
    if not (record := oplog.current()) or not record.replay:
        oplog.merged(result.merge, via="route", user=session.owner, guest=guest, cart_id=result.cart.id)
    return result


def recover_cart(session: Session, body: RecoverCart) -> Cart:
    """``POST /cart/recover``: the abandoned cart a recovery link names becomes the caller's: a
    guest cart this browser's (or the signed-in user's), a user's cart only its user's. The caller's
    other active carts are folded into it as a sign-in merge would. The link is checked before the
    database (forged, damaged, expired: no query); a reload of the page is answered with the cart."""
    claim = recovery.verify(body.token)
    settings = get_settings()
    guest = session.guest.key if session.is_user and session.guest is not None else None
    outcome: list[str] = []

    def op(conn: psycopg.Connection) -> Cart:
        done, _, view = recover_statement(
            conn, session.owner, cart_id=claim.cart_id, abandoned_at=claim.abandoned_at, guest_session=guest,
            limits=settings.limits, ttl_days=settings.cart_ttl_days(session.owner.kind),
            max_list_items=settings.max_list_items,
        )  # fmt: skip
        outcome[:] = [done]
        return build_cart(view, settings)

    cart = _execute(session, op, Cart, lazy_merge=False, rate_limits=_rate_limits(session), changes=True)
    if guest is not None and outcome == ["recover"]:
        session.merged = True  # the guest session's cart was folded in: its cookie goes
    if outcome == ["recover"]:
        _count("CartsRecovered")
    return cart


def validate_cart(session: Session) -> Validation:
    """``POST /cart/validate``: is every line buyable now, and if not, why (totals at current prices)."""
    settings = get_settings()

    def op(conn: psycopg.Connection) -> Validation:
        readiness, view = store.validate_cart(conn, session.owner, limits=settings.limits)
        cart, issues = build_cart(view, settings), readiness_issues(readiness)
        if any(issue.type in _STOCK_ISSUES for issue in issues):
            _count("StockValidationFailures")
            oplog.stock_issues(cart, issues)
        return Validation(valid=bool(cart.items) and not issues, issues=issues, cart=cart)

    if session.is_new:
        cart = build_cart(EMPTY, settings)
        session.cart_version = cart.version
        return Validation(valid=False, issues=[], cart=cart)
    return _execute(session, op, Validation)


def checkout(session: Session, body: CheckoutRequest) -> CheckoutResult:
    """``POST /cart/checkout``: a guest is sent to sign in (sign-in merges the cart); a user's cart
    is validated and, when every line is ready, its stock reserved for N minutes in one transaction."""
    settings = get_settings()
    if not session.is_user:
        raise AuthenticationRequired("Sign in to check out; your cart comes with you", loginUrl=settings.login_url)

    hoarding = settings.rate_policy("checkouts")

    def op(conn: psycopg.Connection) -> CheckoutResult:
        opened, readiness, view = store.reserve_stock(
            conn,
            session.owner,
            limits=settings.limits,
            minutes=settings.checkout_reservation_minutes,
            accept_prices=body.accept_price_changes,
            expected=session.expected_version,
            hoarding=(rate.hoarding(hoarding, session.owner), session.rate_limits) if hoarding else None,
        )
        cart = build_cart(view, settings)
        if not opened:
            if not cart.items:
                raise CartEmpty()
            issues = readiness_issues(readiness)
            if any(issue.type in _STOCK_ISSUES for issue in issues):
                _count("StockValidationFailures")
                oplog.stock_issues(cart, issues)
            raise CheckoutBlocked(
                count=len(issues),
                issues=[issue.model_dump(mode="json", by_alias=True) for issue in issues],
                cart=cart.model_dump(mode="json", by_alias=True),
            )
        return CheckoutResult(checkout_id=opened[0]["checkout_id"], expires_at=opened[0]["expires_at"], cart=cart)

    result = _execute(session, op, CheckoutResult, rate_limits=_rate_limits(session))
    _count("CheckoutsReserved")
    return result


def complete_checkout(
    checkout_id: UUID, order_id: str | None = None, database: Database | None = None
) -> CompletedCheckout:
    """For the order service, after payment (the checkout events' consumer, ``POST
    /checkouts/{checkoutId}/complete``): the stock is sold, the cart converted (and marked recovered
    if it had been abandoned), discount uses counted, the checkout token given back, and
    CheckoutCompleted written, exactly once: the same order again is answered as done
    (``replay``), another order is ``CheckoutConflict``. A lapsed reservation still completes when
    its stock is available; otherwise ``CheckoutCompletionFailed`` (and the event of that name). A
    released checkout is ``CheckoutExpired``, an unknown one ``CheckoutNotFound``; each refusal
    also writes CheckoutCompletionFailed for the order service."""
    policy = get_settings().rate_policy("checkouts")
    refund = rate.completed_checkout(policy, checkout_id) if policy else None
    row = (database or get_database()).run(
        lambda conn: store.complete_checkout(conn, checkout_id, order_id, refund=refund)
    )
    outcome = row["outcome"]
    if outcome in ("completed", "already_completed"):
        _count("CheckoutsCompleted" if outcome == "completed" else "CheckoutCompletionReplays")
        return CompletedCheckout(
            checkout_id=checkout_id, cart_id=row["cart_id"], user_id=row["user_id"], recovered=row["recovered"],
            order_id=order_id, replay=outcome == "already_completed",
        )  # fmt: skip
    _count("CheckoutCompletionFailures")
    ids = {"checkoutId": str(checkout_id)}
    if outcome == "not_found":
        raise CheckoutNotFound(**ids)
    if outcome == "released":
        raise CheckoutExpired(**ids, reason="released")
    if outcome == "conflict":
        raise CheckoutConflict(**ids, completedOrderId=row["completed_order_id"])
    short = row["lines_short"]
    raise CheckoutCompletionFailed(**ids, reason="insufficient_stock", count=len(short), linesShort=short)


def release_checkout(checkout_id: UUID, reason: str = "cancelled", database: Database | None = None) -> str:
    """For the order service (payment failed, order cancelled): the reservation's stock is freed at
    once and CheckoutReleased written with ``reason``. Idempotent: ``released`` the first time,
    ``already_released`` after; ``CheckoutNotFound``; a completed checkout is ``CheckoutConflict``."""
    policy = get_settings().rate_policy("checkouts")
    refund = rate.released_checkout(policy, checkout_id) if policy else None
    row = (database or get_database()).run(
        lambda conn: store.release_checkout(conn, checkout_id, reason, refund=refund)
    )
    outcome: str = row["outcome"]
    if outcome == "not_found":
        raise CheckoutNotFound(checkoutId=str(checkout_id))
    if outcome == "completed":
        raise CheckoutConflict("The checkout was completed; cancel the order instead", checkoutId=str(checkout_id))
    return outcome
