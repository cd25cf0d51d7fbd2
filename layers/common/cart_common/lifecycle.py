"""The cart lifecycle: what happens to carts nobody is using. One scheduled sweep (EventBridge, the
ExpireCartsFunction) does, in this order:

1. **Expiry.** Deletes every cart past ``expires_at``: guest carts (``GUEST_CART_TTL_DAYS`` after
   their last change), user carts (``USER_CART_TTL_DAYS``), and merged or converted carts past
   theirs. Every change slides ``expires_at`` forward, and the delete re-checks it on the locked
   row, so a cart touched after the sweep looked at it is kept (sliding expiry).
2. **Analytics.** Rolls up the merchant's cart analytics (``cart_common/analytics.py``): each day
   from the day after the last final one (at most ``EVENT_RETENTION_DAYS`` back) to today is
   recomputed from its sources and replaced, a day at a time; a day is final (never written again)
   once a run starts a quarter of an hour after its end. The marks of step 3 are counted by the next
   run (they are today's, and today is never final); the outbox's published events and the removed
   lines it reads are deleted only in step 6, after it, so a day is final long before its sources go.
3. **Abandonment.** Marks active carts with lines and no activity for ``ABANDONED_AFTER_HOURS``:
   ``abandoned_at``, ``abandoned_value`` (current price times quantity, minor units) and
   ``abandoned_items`` (the lines as they were). Any later change clears ``abandoned_at`` and keeps
   the snapshot, so a cart converted later is recognised as recovered (``mark_recovered``).
4. **Retention** (the GDPR note: email and user id removed from abandoned-cart records). An
   abandoned-cart record is a cart's abandonment snapshot plus what links it to a person: the
   cart's ``user_id`` and, through it, the email in ``shopper``. When a cart is still marked
   abandoned ``ABANDONED_RETENTION_DAYS`` after the mark (the shopper never came back):

   - the record is anonymised (``anonymised_at``): the listing shows it with ``userId`` and
     ``userEmail`` null; its value and items stay, for totals, and name no one;
   - a cart that is no longer active (merged, converted) also loses ``user_id``, ``session_id`` and
     ``merged_into``: nothing in the row leads to a person any more;
   - an *active* cart keeps its ``user_id``/``session_id``: it is still that shopper's cart, which
     they can come back to until it expires (with the default TTLs it expires before the retention
     is reached anyway: 90 days after the last change, against 24 hours + 90 days). If they come
     back, the mark is cleared; a later mark is a new record, not anonymised;
   - emails: a ``shopper`` row is deleted once its user has had no cart activity, and the email was
     not captured, within the last ``ABANDONED_RETENTION_DAYS``. The email exists only for
     win-back, and sign-in captures it again.

5. **Lists** (issue 23, docs/lists.md). Guest lists past ``expires_at`` (``GUEST_CART_TTL_DAYS`` after
   their last change; a user's never expire) go with their items, and expired share links go.
6. **Events.** Saved-for-later items back in stock or cheaper are announced (SavedItemBackInStock,
   SavedItemPriceDropped, once per item and change), and published events older than
   ``EVENT_RETENTION_DAYS`` (7) are deleted, with the removed lines' rows as old. Step 3 writes a
   CartAbandoned event for each mark (docs/events.md).

Every step works in batches of ``SWEEP_BATCH_SIZE`` (one short transaction each, rows taken with
``FOR UPDATE SKIP LOCKED``), so the sweep never waits for a shopper and two overlapping runs split
the work instead of doing it twice; counts are of rows a batch changed itself. Before each batch the
run checks the Lambda's remaining time and stops with a margin, leaving the rest to the next run;
every step is idempotent, so an interrupted run loses nothing. The next run starts again at step 1:
expiry comes first when there is a backlog.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from cart_common import analytics, recovery, store
from cart_common.api import logger, metrics
from cart_common.config import Settings, get_settings
from cart_common.db import Database, get_database
from cart_common.models import AbandonedCart, AbandonedCarts
from cart_common.store.analytics import purge_removals
from cart_common.store.events import purge_published
from cart_common.store.lifecycle import notify_saved_items, purge_lists

Batch = Callable[[psycopg.Connection], store.Row]  # one statement of a step, on a connection
_FIRST_ID = "00000000-0000-0000-0000-000000000000"  # below every uuid: a walk by id starts here


@dataclass
class SweepReport:
    expired: int = 0
    expired_guest: int = 0
    expired_user: int = 0
    expired_closed: int = 0  # merged or converted
    marked_abandoned: int = 0
    anonymised: int = 0
    emails_removed: int = 0
    checkouts_purged: int = 0
    idempotency_keys_purged: int = 0
    rate_buckets_purged: int = 0  # refilled buckets (issue 14)
    checkouts_limited: int = 0  # users whose checkouts are cut off for hoarding, as of the sweep
    saved_back_in_stock: int = 0  # SavedItemBackInStock events written (issue 20)
    saved_price_dropped: int = 0  # SavedItemPriceDropped events written
    events_purged: int = 0  # published outbox events older than EVENT_RETENTION_DAYS
    lists_expired: int = 0  # guest lists past their expiry (issue 23)
    share_links_expired: int = 0
    analytics_days: int = 0  # days of the cart analytics rollup written (issue 23)
    analytics_days_final: int = 0  # of which made final
    removals_purged: int = 0  # removed-line rows older than EVENT_RETENTION_DAYS
    batches: int = 0
    complete: bool = False  # False: the time ran out, the next run carries on
    duration_ms: int = 0
    slowest_batch_ms: int = 0
    stopped_in: str | None = None  # the step that was cut short

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Budget:
    """Whether another batch fits before the Lambda timeout: the margin left is the configured one
    (at most half of what the run started with, so a short timeout still gets work done) or twice
    the slowest batch so far, whichever is larger."""

    remaining_ms: Callable[[], int]
    margin_ms: int
    slowest_ms: int = 0
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, remaining_ms: Callable[[], int], configured_margin_ms: int) -> _Budget:
        return cls(remaining_ms, min(configured_margin_ms, remaining_ms() // 2))

    def allows_batch(self) -> bool:
        return self.remaining_ms() >= max(self.margin_ms, 2 * self.slowest_ms)

    def timed(self, work: Callable[[], store.Row]) -> store.Row:
        started = time.monotonic()
        try:
            return work()
        finally:
            self.slowest_ms = max(self.slowest_ms, int((time.monotonic() - started) * 1000))


def sweep(
    database: Database,
    remaining_ms: Callable[[], int],
    settings: Settings | None = None,
    *,
    batch_size: int | None = None,
    report: SweepReport | None = None,
) -> SweepReport:
    """One run of the sweep on ``database``'s connection, within the time ``remaining_ms`` reports.
    Counts go into ``report`` as batches finish, so a caller still has them when a batch fails."""
    settings = settings or get_settings()
    batch = batch_size or settings.sweep_batch_size
    budget = _Budget.start(remaining_ms, settings.sweep_safety_margin_ms)
    report = report if report is not None else SweepReport()

    def drain(step: str, work: Callable[[], Batch], done: Callable[[store.Row], bool]) -> bool:
        """Batches of one step until ``done`` says it has nothing left (True) or time is up (False)."""
        while budget.allows_batch():
            report.batches += 1
            if done(budget.timed(partial(database.run, work()))):
                return True
        report.stopped_in = step
        return False

    def expired(row: store.Row) -> bool:
        report.expired += row["expired"]
        report.expired_guest += row["guest"]
        report.expired_user += row["user"]
        report.expired_closed += row["closed"]
        return bool(row["expired"] < batch)

    def marked(row: store.Row) -> bool:
        report.marked_abandoned += row["marked"]
        return bool(row["selected"] < batch)

    def anonymised(row: store.Row) -> bool:
        report.anonymised += row["anonymised"]
        return bool(row["anonymised"] < batch)

    emails_after = [""]  # the last user_id looked at: the email step walks the table once per run

    def emails(row: store.Row) -> bool:
        report.emails_removed += row["removed"]
        emails_after[0] = row["last_user_id"]
        return bool(row["last_user_id"] is None)

    def checkouts(row: store.Row) -> bool:
        report.checkouts_purged += row["purged"]
        return bool(row["purged"] < batch)

    def keys(row: store.Row) -> bool:
        report.idempotency_keys_purged += row["purged"]
        return bool(row["purged"] < batch)

    def buckets(row: store.Row) -> bool:
        report.rate_buckets_purged += row["purged"]
        report.checkouts_limited = row["checkouts_limited"]
        return bool(row["purged"] < batch)

    saved_after = [_FIRST_ID]  # the last saved item looked at: that step, too, walks the table once per run

    def saved(row: store.Row) -> bool:
        report.saved_back_in_stock += row["back_in_stock"]
        report.saved_price_dropped += row["price_dropped"]
        saved_after[0] = row["last_id"] or saved_after[0]
        return bool(row["selected"] < batch)

    def lists_purged(row: store.Row) -> bool:
        report.lists_expired += row["lists"]
        report.share_links_expired += row["links"]
        return bool(row["lists"] < batch and row["links"] < batch)

    def events_purged(row: store.Row) -> bool:
        report.events_purged += row["purged"]
        return bool(row["purged"] < batch)

    def removals_purged(row: store.Row) -> bool:
        report.removals_purged += row["purged"]
        return bool(row["purged"] < batch)

    event_days = float(os.environ.get("EVENT_RETENTION_DAYS", "7"))
    rollup = analytics.Rollup(horizon=int(event_days), active_hours=settings.abandoned_after_hours)

    def rolled_up(row: store.Row) -> bool:
        report.analytics_days += int(row["written"])
        report.analytics_days_final += int(row["final"])
        return bool(row["left"] == 0)

    checkout_rate = settings.rate_limit_checkouts / settings.rate_limit_checkouts_window_s

    hours, days = settings.abandoned_after_hours, settings.abandoned_retention_days
    try:
        report.complete = (
            drain("expire", lambda: partial(store.expire_carts, batch=batch), expired)
            and drain("analytics", lambda: rollup.batch, rolled_up)
            and drain("purge_checkouts", lambda: partial(store.purge_checkouts, batch=batch), checkouts)
            and drain("purge_idempotency_keys", lambda: partial(store.purge_idempotency_keys, batch=batch), keys)
            and drain(
                "purge_rate_buckets",
                lambda: partial(store.purge_rate_buckets, batch=batch, checkout_rate=checkout_rate),
                buckets,
            )
            and drain("mark_abandoned", lambda: partial(store.mark_abandoned, batch=batch, hours=hours), marked)
            and drain("anonymise", lambda: partial(store.anonymise_abandoned, batch=batch, days=days), anonymised)
            and drain(
                "emails",
                lambda: partial(store.remove_stale_emails, batch=batch, days=days, after=emails_after[0]),
                emails,
            )
            and drain("purge_lists", lambda: partial(purge_lists, batch=batch), lists_purged)
            and drain(
                "saved_items",
                lambda: partial(notify_saved_items, batch=batch, after=saved_after[0]),
                saved,
            )
            and drain("purge_events", lambda: partial(purge_published, batch=batch, days=event_days), events_purged)
            and drain("purge_removals", lambda: partial(purge_removals, batch=batch, days=event_days), removals_purged)
        )
        return report
    finally:
        report.duration_ms = int((time.monotonic() - budget.started) * 1000)
        report.slowest_batch_ms = budget.slowest_ms


def run(context: Any, database: Database | None = None) -> SweepReport:
    """The scheduled run: the sweep within the invocation's remaining time, then its metrics and one
    structured log line (emitted for the work done even when a batch failed; the failure is raised
    so Lambda retries the event and, after the retries, sends it to the dead-letter queue)."""
    report = SweepReport()
    try:
        sweep(database or get_database(), context.get_remaining_time_in_millis, report=report)
    finally:
        for name, value in (
            ("CartsExpired", report.expired),
            ("CartsMarkedAbandoned", report.marked_abandoned),
            ("CartsAnonymised", report.anonymised),
            ("ShopperEmailsRemoved", report.emails_removed),
            ("CheckoutsPurged", report.checkouts_purged),
            ("IdempotencyKeysPurged", report.idempotency_keys_purged),
            ("RateBucketsPurged", report.rate_buckets_purged),
            ("CheckoutsLimited", report.checkouts_limited),
            ("SavedItemsBackInStock", report.saved_back_in_stock),
            ("SavedItemsPriceDropped", report.saved_price_dropped),
            ("EventsPurged", report.events_purged),
        ):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        metrics.add_metric(name="SweepDurationMs", unit=MetricUnit.Milliseconds, value=report.duration_ms)
        if not report.complete:
            metrics.add_metric(name="SweepIncomplete", unit=MetricUnit.Count, value=1)
        logger.info("Cart lifecycle sweep", extra={"sweep": report.as_dict()})
    return report


def mark_recovered(target: Database | psycopg.Connection, cart_id: UUID) -> bool:
    """Record that ``cart_id``, now converted to an order, had been marked abandoned at some point
    (its snapshot is kept when later activity clears the mark): sets ``recovered_at`` (the first
    time only, so a replayed checkout changes nothing) and clears the mark. True when the cart was
    a recovered one. ``target`` is a ``Database`` or a connection already inside the checkout's
    transaction (``store.mark_recovered_statement`` fits a pipeline)."""
    work = partial(store.mark_recovered, cart_id=cart_id)
    row = target.run(work) if isinstance(target, Database) else work(target)
    return row is not None


def list_abandoned(
    *, min_value: int, since: datetime | None, limit: int, offset: int, database: Database | None = None
) -> AbandonedCarts:
    """``GET /admin/carts/abandoned`` (parameters validated by the route): active carts still marked
    abandoned, by value then last activity (both descending); values are the snapshot's, taken when
    the cart was marked. A ``since`` without an offset is UTC."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    total, rows = (database or get_database()).run(
        partial(store.list_abandoned, min_value=min_value, since=since, limit=limit, offset=offset)
    )
    carts = [
        AbandonedCart(
            id=row["id"],
            user_id=row["user_id"],
            user_email=row["user_email"],
            items=row["items"] or [],
            total_value=row["total_value"],
            currency=row["currency"],
            last_activity=row["last_activity_at"],
            abandoned_at=row["abandoned_at"],
            recovery_url=recovery.recovery_url(row["id"], row["abandoned_at"]),
        )
        for row in rows
    ]
    return AbandonedCarts(carts=carts, total=total)
