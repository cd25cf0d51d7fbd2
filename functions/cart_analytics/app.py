from datetime import date
from typing import Annotated

from cart_common import analytics
from cart_common.admin import require_admin
from cart_common.api import Query, handler_for, make_app, responses
from cart_common.models import AnalyticsBucketSize, CartAnalytics

app = make_app(guard=require_admin)
FIRST, LAST = date(2000, 1, 1), date(9999, 12, 31)  # what a day may be (a range is checked by analytics)


@app.get("/admin/analytics/carts", responses=responses(401, 403))
def cart_analytics(
    start: Annotated[
        date | None, Query(alias="from", ge=FIRST, le=LAST, description="First day, YYYY-MM-DD (UTC); default: to - 29")
    ] = None,
    end: Annotated[
        date | None, Query(alias="to", ge=FIRST, le=LAST, description="Last day (UTC); default: today")
    ] = None,
    bucket: Annotated[AnalyticsBucketSize, Query(description="The series' step")] = "day",
) -> CartAnalytics:
    return analytics.report(start, end, bucket)


lambda_handler = handler_for(app)
