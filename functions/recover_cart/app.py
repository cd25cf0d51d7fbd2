"""POST /cart/recover: an abandoned cart brought back by its recovery link (docs/lifecycle.md)."""

from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import Cart, RecoverCart

app = make_app()


@app.post("/cart/recover", responses=responses(401, 404, 410))
def recover_cart(body: RecoverCart) -> Cart:
    return carts.recover_cart(app.session, body)


lambda_handler = handler_for(app)
