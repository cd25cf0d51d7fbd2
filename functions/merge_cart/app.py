"""One merge, two event sources: Cognito's Post Authentication trigger and POST /cart/merge."""

from cart_common import carts, trigger
from cart_common.api import handler_for, make_app, responses
from cart_common.models import MergeResult

app = make_app()


@app.post("/cart/merge", responses=responses(401))
def merge_cart() -> MergeResult:
    return carts.merge_cart(app.session)


http_handler = handler_for(app)


def lambda_handler(event: dict, context: object) -> dict:
    if "triggerSource" in event:  # Cognito: PostAuthentication_Authentication
        return trigger.lambda_handler(event, context)
    return http_handler(event, context)
