"""Issue 20's part of template.yaml, read as CloudFormation gets it (the SAM-translated template of
tests/integration/test_template.py): the stack's bus, who may publish to it, the order service's
consumer with its retries and dead letters, the IAM routes, the relay's schedule and the VPC endpoint.
Each test names the AWS documentation whose behaviour it relies on."""

from __future__ import annotations

from typing import Any

import pytest

from local import template as local_template
from tests.integration.test_template import ALL_FUNCTIONS, TEMPLATE, _translate

ORDER_EVENTS = ["PaymentSucceeded", "PaymentFailed", "CheckoutCancelled"]
# Every function that writes events: any cart change may release a checkout, any request may merge
# lazily, the sweep marks carts abandoned; and the order service's functions and the relay.
PUBLISHERS = {
    "GetCartFunction", "AddItemFunction", "UpdateItemFunction", "RemoveItemFunction", "ClearCartFunction",
    "ValidateCartFunction", "CheckoutFunction", "ApplyDiscountCodeFunction", "RemoveDiscountCodeFunction",
    "SaveItemFunction", "RestoreSavedItemFunction", "SyncCartFunction", "MergeCartFunction", "SignInMergeFunction",
    "RecoverCartFunction", "ExpireCartsFunction", "CheckoutEventsFunction", "CompleteCheckoutFunction",
    "ReleaseCheckoutFunction", "PublishEventsFunction", "AcceptPricesFunction", "BulkChangeFunction",
    "ReorderFunction",
}  # fmt: skip
# The catalog's consumer and import write products only, never an outbox row (docs/catalog.md).
PUBLISHERS -= {"CatalogEventsFunction", "ImportCatalogFunction"}


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return _translate(TEMPLATE)


def _policies(translated: dict[str, Any], function: str) -> list[Any]:
    return list(translated["Resources"][f"{function}Role"]["Properties"].get("ManagedPolicyArns", []))


def test_every_function_that_writes_events_may_publish_to_the_stacks_bus_and_nowhere_else(
    translated: dict[str, Any],
) -> None:
    """PutEvents is authorised on the bus's ARN (EventBridge User Guide, "Managing access permissions
    to your Amazon EventBridge resources": events:PutEvents takes an event-bus resource). The bus name
    reaches every function through Globals (``Ref`` of AWS::Events::EventBus is its name: CloudFormation
    User Guide, AWS::Events::EventBus, "Return values")."""
    resources = translated["Resources"]
    assert resources["EventBus"]["Type"] == "AWS::Events::EventBus"
    (statement,) = resources["EventPublishPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Action": "events:PutEvents",
        "Resource": {"Fn::GetAtt": ["EventBus", "Arn"]},
    }
    publishing = {name for name in ALL_FUNCTIONS if {"Ref": "EventPublishPolicy"} in _policies(translated, name)}
    assert publishing >= PUBLISHERS, PUBLISHERS - publishing
    assert not publishing & {"ListAbandonedCartsFunction", "CartAnalyticsFunction", "MigrateFunction"}  # no event
    for name in ALL_FUNCTIONS:
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables["EVENT_BUS_NAME"] == {"Ref": "EventBus"}, name
    assert translated["Outputs"]["EventBusName"]["Value"] == {"Ref": "EventBus"}


def test_the_order_service_events_reach_the_consumer_with_retries_and_a_dead_letter_queue(
    translated: dict[str, Any],
) -> None:
    """A rule on the stack's bus, matching the configured source and the three detail types. A delivery
    EventBridge cannot make is retried by the target's RetryPolicy and then sent to the DLQ, which the
    queue's own policy must let events.amazonaws.com write for that rule (EventBridge User Guide,
    "Using dead-letter queues to process undelivered events"); a run that fails is retried by Lambda
    (EventInvokeConfig) and then sent to the on-failure destination with the function's role (Lambda
    Developer Guide, "Asynchronous invocation", "Destinations")."""
    resources = translated["Resources"]
    rule = resources["CheckoutEventsFunctionOrderEvents"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "EventBus"}
    assert rule["EventPattern"] == {"source": [{"Ref": "OrderEventSource"}], "detail-type": ORDER_EVENTS}
    assert translated["Parameters"]["OrderEventSource"]["Default"] == "shop.orders"
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": "CheckoutEventsFunctionAliaslive"}  # the published version, as the canary shifts
    queue_arn = {"Fn::GetAtt": ["CheckoutEventsDeadLetterQueue", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": queue_arn}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    queue = resources["CheckoutEventsDeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and queue["MessageRetentionPeriod"] == 1209600
    (allow,) = resources["CheckoutEventsDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["CheckoutEventsFunctionOrderEvents", "Arn"]}}
    }
    invoke = resources["CheckoutEventsFunctionEventInvokeConfig"]["Properties"]
    assert invoke["MaximumRetryAttempts"] == 2
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn
    role_policies = resources["CheckoutEventsFunctionRole"]["Properties"]["Policies"]
    assert any(
        s["Action"] == "sqs:SendMessage" and s["Resource"] == queue_arn
        for p in role_policies for s in p["PolicyDocument"]["Statement"]
    )  # fmt: skip
    alarm = resources["CheckoutEventsDeadLetterAlarm"]["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["CheckoutEventsDeadLetterQueue", "QueueName"]}}
    ]


def test_the_completion_routes_are_signed_with_iam_and_the_cart_routes_are_not(translated: dict[str, Any]) -> None:
    """SAM's ``EnableIamAuthorizer`` adds an ``AWS_IAM`` (SigV4) security scheme that a route's
    ``Authorizer: AWS_IAM`` names (SAM Developer Guide, "HttpApiAuth"; API Gateway Developer Guide,
    "Using IAM authorization" for HTTP APIs): a caller needs execute-api:Invoke on the route."""
    body = translated["Resources"]["HttpApi"]["Properties"]["Body"]
    assert body["components"]["securitySchemes"]["AWS_IAM"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    for path in ("/checkouts/{checkoutId}/complete", "/checkouts/{checkoutId}/release"):
        assert body["paths"][path]["post"]["security"] == [{"AWS_IAM": []}], path
    for path, operations in body["paths"].items():
        if not path.startswith("/checkouts/"):
            for method, operation in operations.items():
                assert "security" not in operation or operation["security"] == [], (method, path)


def test_the_relay_runs_every_minute_one_at_a_time_without_retries(translated: dict[str, Any]) -> None:
    """A schedule rule (EventBridge User Guide, "Creating a rule that runs on a schedule": rate
    expressions, one minute at the finest); a failed run is not retried (the next one is its retry)."""
    resources = translated["Resources"]
    schedules = [
        r for k, r in resources.items() if k.startswith("PublishEventsFunction") and r["Type"] == "AWS::Events::Rule"
    ]
    (schedule,) = schedules
    assert schedule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    relay = resources["PublishEventsFunction"]["Properties"]
    assert relay["Environment"]["Variables"]["EVENT_RELAY_GRACE_S"] == "30"
    assert relay["Timeout"] == 60
    assert resources["PublishEventsFunctionEventInvokeConfig"]["Properties"]["MaximumRetryAttempts"] == 0
    assert translated["Parameters"]["EventRelayReservedConcurrency"]["Default"] == 1


def test_the_created_vpc_reaches_eventbridge_through_an_interface_endpoint(translated: dict[str, Any]) -> None:
    """The functions run in private subnets: with private DNS on, the regional ``events`` name resolves
    to the endpoint (AWS PrivateLink Guide, "Access an AWS service using an interface VPC endpoint";
    EventBridge User Guide, "Using Amazon EventBridge with Interface VPC endpoints")."""
    endpoint = translated["Resources"]["EventsEndpoint"]
    assert endpoint["Condition"] == "CreateDb"
    properties = endpoint["Properties"]
    assert properties["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.events"}
    assert properties["VpcEndpointType"] == "Interface" and properties["PrivateDnsEnabled"] is True
    assert properties["SecurityGroupIds"] == [{"Ref": "EndpointSecurityGroup"}]


def test_the_local_bus_delivers_by_the_templates_own_rules() -> None:
    """local/template.py reads the rules the local bus delivers by from template.yaml: no second table."""
    (rule,) = [rule for rule in local_template.event_rules() if rule.function == "CheckoutEventsFunction"]
    assert rule.function == "CheckoutEventsFunction"
    assert rule.sources == ("shop.orders",) and rule.detail_types == tuple(ORDER_EVENTS)
    assert rule.matches("shop.orders", "PaymentSucceeded") and not rule.matches("cart.api", "PaymentSucceeded")
    assert not rule.matches("shop.orders", "CheckoutCompleted")
