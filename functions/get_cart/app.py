from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import Cart

app = make_app()


@app.get("/cart", responses=responses())
def get_cart() -> Cart:
    return carts.get_cart(app.session)


lambda_handler = handler_for(app)
