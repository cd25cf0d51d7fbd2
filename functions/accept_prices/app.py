from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import AcceptPrices, Cart

app = make_app()


@app.post("/cart/prices/accept", responses=responses(404, 409))
def accept_prices(body: AcceptPrices | None = None) -> Cart:
    return carts.accept_prices(app.session, body or AcceptPrices())


lambda_handler = handler_for(app)
