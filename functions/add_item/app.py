from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import AddItem, Cart

app = make_app()


@app.post("/cart/items", responses=responses(404, 409))
def add_item(body: AddItem) -> Cart:
    return carts.add_item(app.session, body)


lambda_handler = handler_for(app)
