"""Issue 21's catalog sync in template.yaml, read as CloudFormation gets it (the SAM-translated template
of tests/integration/test_template.py): the catalog events' rule, queue, dead-letter queue and
consumer; the import bucket, its events and the import function. Each test names the AWS
documentation whose behaviour it relies on."""

from __future__ import annotations

from typing import Any

import pytest

from cart_common import catalog_sync
from local import template as local_template
from tests.integration.test_template import TEMPLATE, _translate


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return _translate(TEMPLATE)


def _mapping(translated: dict[str, Any], function: str) -> dict[str, Any]:
    return next(
        r["Properties"]
        for r in translated["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping" and function in str(r["Properties"]["FunctionName"])
    )


def test_catalog_events_go_from_the_bus_to_the_queue_for_their_source_and_types_only(
    translated: dict[str, Any],
) -> None:
    """A rule on the stack's bus with the queue as its target; EventBridge needs the queue's own policy
    to send to it, for that rule (EventBridge User Guide, "Amazon SQS permissions" under "Using
    resource-based policies for Amazon EventBridge"); a delivery it cannot make is retried and then
    dead-lettered (EventBridge User Guide, "Using dead-letter queues to process undelivered events")."""
    resources = translated["Resources"]
    rule = resources["CatalogEventsRule"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "EventBus"}
    assert rule["EventPattern"] == {
        "source": [{"Ref": "CatalogEventSource"}],
        "detail-type": list(catalog_sync.DETAIL_TYPES),
    }
    assert translated["Parameters"]["CatalogEventSource"]["Default"] == catalog_sync.DEFAULT_SOURCE
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["CatalogEventsQueue", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["CatalogEventsDeadLetterQueue", "Arn"]}}
    (statement,) = resources["CatalogEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["CatalogEventsRule", "Arn"]}}}
    assert {"Fn::GetAtt": ["CatalogEventsDeadLetterQueue", "Arn"]} in statement["Resource"]
    # The local bus delivers the same rule to the same function (local/template.py reads it).
    (local_rule,) = [r for r in local_template.event_rules() if r.queue == "CatalogEventsQueue"]
    assert local_rule.function == "CatalogEventsFunction" and local_rule.sources == (catalog_sync.DEFAULT_SOURCE,)


def test_the_consumer_takes_batches_reports_partial_failures_and_the_queue_redrives_to_the_dlq(
    translated: dict[str, Any],
) -> None:
    """Partial batch responses are honoured only with ReportBatchItemFailures in FunctionResponseTypes
    (Lambda Developer Guide, "Handling errors for an SQS event source in Lambda"); the queue's
    visibility timeout should be at least six times the function's timeout (Lambda Developer Guide,
    "Configuring an Amazon SQS queue to use with Lambda"), and its redrive policy moves a message to
    the dead-letter queue after maxReceiveCount receives (SQS Developer Guide, "Using dead-letter
    queues in Amazon SQS"). Reserved concurrency at least the mapping's maximum concurrency keeps
    batches from being throttled (Lambda Developer Guide, "Configuring scaling behavior for SQS event
    source mappings")."""
    resources = translated["Resources"]
    mapping = _mapping(translated, "CatalogEventsFunction")
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["CatalogEventsQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    queue = resources["CatalogEventsQueue"]["Properties"]
    function = resources["CatalogEventsFunction"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["CatalogEventsDeadLetterQueue", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 3
    assert queue["SqsManagedSseEnabled"] is True
    reserved = translated["Parameters"]["CatalogSyncReservedConcurrency"]["Default"]
    assert reserved >= mapping["ScalingConfig"]["MaximumConcurrency"]
    # The refusals it sends to the dead-letter queue itself: the queue's URL, and the right to send there.
    assert function["Environment"]["Variables"]["CATALOG_DLQ_URL"] == {"Ref": "CatalogEventsDeadLetterQueue"}
    statements = str(resources["CatalogEventsFunctionRole"]["Properties"]["Policies"])
    assert "sqs:SendMessage" in statements and "CatalogEventsDeadLetterQueue" in statements


def test_the_dead_letter_queues_and_the_waiting_events_are_alarmed(translated: dict[str, Any]) -> None:
    """ApproximateNumberOfMessagesVisible and ApproximateAgeOfOldestMessage are the queue's CloudWatch
    metrics (SQS Developer Guide, "Available CloudWatch metrics for Amazon SQS")."""
    alarms = {k: r["Properties"] for k, r in translated["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    for alarm, queue, metric in (
        ("CatalogEventsDeadLetterAlarm", "CatalogEventsDeadLetterQueue", "ApproximateNumberOfMessagesVisible"),
        ("ImportCatalogDeadLetterAlarm", "ImportCatalogDeadLetterQueue", "ApproximateNumberOfMessagesVisible"),
        ("CatalogEventsAgeAlarm", "CatalogEventsQueue", "ApproximateAgeOfOldestMessage"),
    ):
        assert alarms[alarm]["Namespace"] == "AWS/SQS" and alarms[alarm]["MetricName"] == metric
        assert alarms[alarm]["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
    assert alarms["ImportIncompleteAlarm"]["MetricName"] == "ImportIncomplete"


def test_the_import_bucket_is_private_encrypted_versioned_and_sends_its_events_to_eventbridge(
    translated: dict[str, Any],
) -> None:
    """With EventBridgeConfiguration S3 sends every bucket event to the account's default bus (S3 User
    Guide, "Using EventBridge"), where the Upload rule (no EventBusName: the default bus) matches Object
    Created in this bucket, except the reports the import writes (EventBridge User Guide, "Content
    filtering in Amazon EventBridge event patterns": anything-but with a prefix)."""
    resources = translated["Resources"]
    bucket = resources["ImportBucket"]["Properties"]
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert all(bucket["PublicAccessBlockConfiguration"].values()) and len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    (deny,) = resources["ImportBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    rule = next(
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Events::Rule" and "aws.s3" in str(r["Properties"].get("EventPattern"))
    )
    assert "EventBusName" not in rule
    pattern = rule["EventPattern"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": "ImportBucket"}]
    assert pattern["detail"]["object"]["key"] == [{"anything-but": {"prefix": "reports/"}}]


def test_the_import_reads_the_bucket_writes_only_reports_and_is_resumed_by_a_schedule(
    translated: dict[str, Any],
) -> None:
    """A ranged GetObject of a version needs s3:GetObjectVersion as well as s3:GetObject (S3 User
    Guide, "Policy actions for Amazon S3"); a run that fails is retried by Lambda and then sent to the
    on-failure destination (Lambda Developer Guide, "Retaining records of asynchronous invocations")."""
    resources = translated["Resources"]
    function = resources["ImportCatalogFunction"]["Properties"]
    policies = resources["ImportCatalogFunctionRole"]["Properties"]["Policies"]
    statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
    reads = next(s for s in statements if "s3:GetObject" in s["Action"])
    assert set(reads["Action"]) == {"s3:GetObject", "s3:GetObjectVersion"}
    writes = next(s for s in statements if s["Action"] == "s3:PutObject")
    assert writes["Resource"] == {"Fn::Sub": "${ImportBucket.Arn}/reports/*"}
    budget_ms = int(function["Environment"]["Variables"]["IMPORT_SAFETY_MARGIN_MS"])
    assert function["Timeout"] * 1000 > 2 * budget_ms  # the run stops with time to give its lease back
    schedule = next(
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Events::Rule" and str(r["Properties"].get("ScheduleExpression", "")).startswith("rate(")
        and "ImportCatalogFunction" in str(r["Properties"]["Targets"])
    )  # fmt: skip
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    config = next(
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig"
        and "ImportCatalogFunction" in str(r["Properties"]["FunctionName"])
    )
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["ImportCatalogDeadLetterQueue", "Arn"]
    }
