"""POST /checkouts/{checkoutId}/release (IAM-authorised, server to server): a shop's order service
without events releases a checkout whose payment failed or whose order was cancelled."""

from uuid import UUID

from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import ReleaseCheckout, ReleasedCheckout

app = make_app()


@app.post("/checkouts/<checkoutId>/release", responses=responses(404, 409))
def release_checkout(checkoutId: UUID, body: ReleaseCheckout | None = None) -> ReleasedCheckout:  # noqa: N803 - the path's own name
    outcome = carts.release_checkout(checkoutId, (body or ReleaseCheckout()).reason)
    return ReleasedCheckout(checkout_id=checkoutId, outcome=outcome)  # type: ignore[arg-type]


lambda_handler = handler_for(app)
