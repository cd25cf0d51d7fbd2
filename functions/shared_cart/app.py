from typing import Annotated, Any

from cart_common import shares
from cart_common.api import Path, Response, handler_for, make_app, responses
from cart_common.models import AddedToCart, CopySharedCart, SharedCart

# Whoever holds a share link (docs/lists.md): the read is public (no route asks for the session, so
# none is started and no cookie is set); the copy adds to the caller's own cart.
app = make_app()
Token = Annotated[str, Path(max_length=512, description="The share link's token")]
SHOWN: dict[int, Any] = {
    200: {"description": "Cacheable (ETag, Cache-Control)", "content": {"application/json": {"model": SharedCart}}}
}


@app.get("/shared/<token>", responses=responses(404, 410) | SHOWN)
def get_shared_cart(token: Token) -> Response[Any]:
    return shares.shared_cart(token, app.request_headers)


@app.post("/cart/copy-shared", responses=responses(404, 409, 410))
def copy_shared_cart(body: CopySharedCart) -> AddedToCart:
    return shares.copy_shared(app.session, body)


lambda_handler = handler_for(app)
