"""The right to erasure (GDPR art. 17): an admin's ``DELETE /admin/users/{userId}/data``, and the
user pool's account deletion (Cognito has no delete trigger: an EventBridge rule on CloudTrail's
record of ``AdminDeleteUser`` / ``DeleteUser`` invokes the same function; docs/admin.md says what the
account needs for it). Both erase every row naming the user in one round trip (store/erasure.py) and
write one ``erasure`` line to the operations log naming the user only by their hashed id.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from cart_common import oplog
from cart_common.api import logger, observed
from cart_common.db import get_database
from cart_common.models import ErasedRows, ErasureReport
from cart_common.store import erasure as store

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
DELETIONS = ("AdminDeleteUser", "DeleteUser")
# A Cognito sub (what the carts are keyed by); a username that is an email or a chosen name is not one.
_SUB = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def erase(user_id: str, *, via: Literal["admin", "account_deleted"] = "admin") -> ErasureReport:
    counts = get_database().run(lambda conn: store.erase_user(conn, user_id))
    erased = ErasedRows.model_validate({key: int(value) for key, value in counts.items()})
    oplog.erased(user_id, erased.model_dump(), via=via)
    return ErasureReport(user_id=user_id, erased=erased)


def is_account_deletion(event: dict[str, Any]) -> bool:
    return event.get("detail-type") == CLOUDTRAIL_DETAIL_TYPE and event.get("source") == "aws.cognito-idp"


def deleted_sub(event: dict[str, Any]) -> str | None:
    """The deleted user's sub as CloudTrail records the call: ``additionalEventData.sub``, else the
    request's username when it is a sub itself (Cognito hides some fields as
    HIDDEN_FOR_SECURITY_REASONS; a failed call deleted no one)."""
    detail = event.get("detail") or {}
    if detail.get("eventName") not in DELETIONS or detail.get("errorCode"):
        return None
    candidates = [
        (detail.get("additionalEventData") or {}).get("sub"),
        (detail.get("requestParameters") or {}).get("username"),
    ]
    return next((c for c in candidates if isinstance(c, str) and _SUB.fullmatch(c)), None)


@observed("id")
def on_account_deleted(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """The EventBridge invocation: erase the deleted account's data. An event that names no sub is
    logged (without its contents) and answered, not retried: erase that user by the admin route."""
    sub = deleted_sub(event)
    if sub is None:
        logger.warning(
            "Account deletion without a sub", extra={"eventName": (event.get("detail") or {}).get("eventName")}
        )
        return {"erased": False}
    report = erase(sub, via="account_deleted")
    return {"erased": True, **report.erased.model_dump(by_alias=True)}
