from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import ApplyDiscountCode, Cart

app = make_app()


@app.post("/cart/discount-codes", responses=responses(409, 422))
def apply_discount_code(body: ApplyDiscountCode) -> Cart:
    return carts.apply_discount_code(app.session, body)


lambda_handler = handler_for(app)
