"""POST /checkouts/{checkoutId}/complete (IAM-authorised, server to server): a shop's order service
without events completes a paid checkout, exactly once per order (cart_common.orders)."""

from uuid import UUID

from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import CompleteCheckout, CompletedCheckout

app = make_app()


@app.post("/checkouts/<checkoutId>/complete", responses=responses(404, 409))
def complete_checkout(checkoutId: UUID, body: CompleteCheckout) -> CompletedCheckout:  # noqa: N803 - the path's own name
    return carts.complete_checkout(checkoutId, body.order_id)


lambda_handler = handler_for(app)
