from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import Validation

app = make_app()


@app.post("/cart/validate", responses=responses(401))
def validate_cart() -> Validation:
    return carts.validate_cart(app.session)


lambda_handler = handler_for(app)
