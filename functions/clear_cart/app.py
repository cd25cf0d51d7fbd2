from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import Cart

app = make_app()


@app.delete("/cart", responses=responses(409))
def clear_cart() -> Cart:
    return carts.clear_cart(app.session)


lambda_handler = handler_for(app)
