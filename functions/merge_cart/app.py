"""POST /cart/merge: the guest session's cart folded into the signed-in user's. (Cognito's Post
Authentication trigger is functions/sign_in_merge.)"""

from cart_common import carts
from cart_common.api import handler_for, make_app, responses
from cart_common.models import MergeResult

app = make_app()


@app.post("/cart/merge", responses=responses(401))
def merge_cart() -> MergeResult:
    return carts.merge_cart(app.session)


lambda_handler = handler_for(app)
