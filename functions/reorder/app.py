from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import Reorder, ReorderResult

app = make_app()


@app.post("/cart/reorder", responses=responses(404, 409))
def reorder(body: Reorder) -> ReorderResult:
    return carts.reorder(app.session, body)


lambda_handler = handler_for(app)
