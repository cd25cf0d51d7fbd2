from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import CheckoutRequest, CheckoutResult

app = make_app()


@app.post("/cart/checkout", responses=responses(401, 409))
def checkout(body: CheckoutRequest | None = None) -> CheckoutResult:
    return carts.checkout(app.session, body or CheckoutRequest())


lambda_handler = handler_for(app)
