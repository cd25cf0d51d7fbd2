from uuid import UUID

from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import Cart, UpdateItem

app = make_app()


@app.patch("/cart/items/<itemId>", responses=responses(404, 409))
def update_item(itemId: UUID, body: UpdateItem) -> Cart:  # noqa: N803 - the path's own name
    return carts.update_item(app.session, itemId, body)


lambda_handler = handler_for(app)
