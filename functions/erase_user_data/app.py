from typing import Annotated, Any

from cart_common import erasure
from cart_common.admin import require_admin
from cart_common.api import Path, handler_for, make_app, responses
from cart_common.models import ErasureReport, UserId

app = make_app(guard=require_admin)


# 404: a userId the resolver's path pattern does not match (route_not_found), as on every route with a path parameter.
@app.delete("/admin/users/<userId>/data", responses=responses(401, 403, 404))
def erase_user_data(user_id: Annotated[UserId, Path(alias="userId")]) -> ErasureReport:
    return erasure.erase(user_id)


api_handler = handler_for(app)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The route, or the user pool's account deletion as CloudTrail records it (an EventBridge rule)."""
    handle = erasure.on_account_deleted if erasure.is_account_deletion(event) else api_handler
    return handle(event, context)
