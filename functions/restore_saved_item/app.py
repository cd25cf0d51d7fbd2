from uuid import UUID

from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import Cart

app = make_app()


@app.post("/cart/saved/<savedId>/restore", responses=responses(404, 409))
def restore_saved_item(savedId: UUID) -> Cart:  # noqa: N803 - the path's own name
    return carts.restore_saved_item(app.session, savedId)


lambda_handler = handler_for(app)
