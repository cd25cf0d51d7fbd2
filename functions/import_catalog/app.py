"""Bulk import: an object put in the import bucket (S3 → EventBridge "Object Created") imports it in
bounded batches with a report of rejected lines; the schedule resumes an import that stopped before
its end (cart_common.catalog_import)."""

from typing import Any

from cart_common import catalog_import
from cart_common.api import observed


@observed(correlation_id_path="id")  # the EventBridge event's id
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return catalog_import.handle(event, context)
