from datetime import datetime
from typing import Annotated

from cart_common import lifecycle
from cart_common.admin import require_admin
from cart_common.api import Query, handler_for, make_app, responses
from cart_common.models import AbandonedCarts

app = make_app(guard=require_admin)


@app.get("/admin/carts/abandoned", responses=responses(401, 403))
def list_abandoned_carts(
    min_value: Annotated[
        int, Query(alias="minValue", ge=0, le=2**63 - 1, description="Only carts worth this much, minor units")
    ] = 0,
    since: Annotated[datetime | None, Query(description="Only carts abandoned since, ISO 8601 (UTC default)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> AbandonedCarts:
    return lifecycle.list_abandoned(min_value=min_value, since=since, limit=limit, offset=offset)


lambda_handler = handler_for(app)
