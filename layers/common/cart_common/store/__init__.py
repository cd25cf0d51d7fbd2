"""Every SQL statement about carts, and nothing else: a package by concern.

Each cart operation is one round trip: a pipeline of statements that PostgreSQL runs as one
implicit transaction (see ``db.pipeline``):

1. lock the owner's cart row (creating it on a first add) and bump its version and expiry;
2. the change itself, which checks its own rules and stops with ``raise_problem`` when one fails,
   rolling back step 1 too;
3. the cart as it now is.

Every writer takes the cart row lock first, so writers of one cart queue up instead of
deadlocking, and because each statement in READ COMMITTED takes a fresh snapshot, step 2 reads the
lines as the previous writer left them: increments are never lost.

The facts every statement asks of the catalog are defined once in the database (migration
0010_sellable.sql): ``sellable(product, variant, max_line)`` (price, stock, availability and the
per-line maximum of what a line holds), ``cart_value``, ``product_quantity``, ``held_by_others``,
``has_variants``, ``check_version`` (If-Match) and ``refuse_limit``; line attributes' rules are in
0009_line_attributes.sql.

Modules: ``_compose`` (how a statement is put together), ``cart`` (the views, step 1, and
``Change``: the owner, expiry and If-Match version every change of a cart's lines carries),
``lines`` (and accepting their changed prices), ``bulk`` (many line changes at once; a past order's
lines added back), ``merge``, ``sync``, ``discounts``, ``checkout``, ``idempotency``, ``lifecycle``
(the sweep and the admin listing), ``shoppers``, ``limits`` (rate limits' buckets, taken in the
change's own round trip); long statements live in ``sql/`` beside them.
"""

from cart_common.store._compose import Row
from cart_common.store.bulk import bulk_change, reorder
from cart_common.store.cart import CartRows, Change, cart_rows, cart_rows_unless
from cart_common.store.checkout import complete_checkout, release_checkout, reserve_stock, validate_cart
from cart_common.store.discounts import apply_discount_code, remove_discount_code
from cart_common.store.idempotency import claim_idempotency_key, idempotent_response, save_idempotent_response
from cart_common.store.lifecycle import (
    anonymise_abandoned,
    expire_carts,
    list_abandoned,
    mark_abandoned,
    mark_recovered,
    mark_recovered_statement,
    purge_checkouts,
    purge_idempotency_keys,
    purge_rate_buckets,
    remove_stale_emails,
)
from cart_common.store.lines import (
    accept_prices,
    add_item,
    clear_cart,
    remove_item,
    restore_saved_item,
    save_item,
    set_quantity,
    switch_variant,
)
from cart_common.store.merge import merge_cart
from cart_common.store.shoppers import remember_email, remember_email_statement
from cart_common.store.sync import sync_cart

__all__ = [
    "CartRows",
    "Change",
    "Row",
    "accept_prices",
    "add_item",
    "anonymise_abandoned",
    "apply_discount_code",
    "bulk_change",
    "cart_rows",
    "cart_rows_unless",
    "claim_idempotency_key",
    "clear_cart",
    "complete_checkout",
    "expire_carts",
    "idempotent_response",
    "list_abandoned",
    "mark_abandoned",
    "mark_recovered",
    "mark_recovered_statement",
    "merge_cart",
    "purge_checkouts",
    "purge_idempotency_keys",
    "purge_rate_buckets",
    "release_checkout",
    "remember_email",
    "remember_email_statement",
    "remove_discount_code",
    "remove_item",
    "remove_stale_emails",
    "reorder",
    "reserve_stock",
    "restore_saved_item",
    "save_idempotent_response",
    "save_item",
    "set_quantity",
    "switch_variant",
    "sync_cart",
    "validate_cart",
]
