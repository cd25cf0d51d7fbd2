from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import Cart, DiscountCodeText

app = make_app()


@app.delete("/cart/discount-codes/<code>", responses=responses(404, 409))
def remove_discount_code(code: DiscountCodeText) -> Cart:
    return carts.remove_discount_code(app.session, code)


lambda_handler = handler_for(app)
