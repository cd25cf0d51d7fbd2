from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import BulkChanges, Cart

app = make_app()


@app.post("/cart/items/bulk", responses=responses(409))
def bulk_change(body: BulkChanges) -> Cart:
    return carts.bulk_change(app.session, body)


lambda_handler = handler_for(app)
