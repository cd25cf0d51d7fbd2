from uuid import UUID

from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import Cart

app = make_app()


@app.post("/cart/items/<itemId>/save", responses=responses(404, 409))
def save_item(itemId: UUID) -> Cart:  # noqa: N803 - the path's own name
    return carts.save_item(app.session, itemId)


lambda_handler = handler_for(app)
