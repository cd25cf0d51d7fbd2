from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import SyncCart, SyncResult

app = make_app()


@app.post("/cart/sync", responses=responses(409))
def sync_cart(body: SyncCart) -> SyncResult:
    return carts.sync_cart(app.session, body)


lambda_handler = handler_for(app)
