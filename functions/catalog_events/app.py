"""The shop's catalog and inventory events (source CatalogEventSource), from the stack's bus through the
catalog queue, up to 10 a batch: applied in order per product, idempotently; the partial batch response
names what SQS should deliver again (cart_common.catalog_sync)."""

from typing import Any

from cart_common import catalog_sync
from cart_common.api import observed


@observed(correlation_id_path="Records[0].messageId")  # the batch's first message
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return catalog_sync.handle_batch(event)
