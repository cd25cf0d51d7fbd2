"""The local EventBridge bus: what the stack's custom bus does in AWS, for ``make dev`` and the tests.

The layer publishes with boto3's ``events.put_events`` exactly as in AWS; boto3 sends it to
``AWS_ENDPOINT_URL_EVENTBRIDGE``, which points here. ``LocalBus`` answers ``PutEvents`` (the JSON 1.1
protocol: ``POST /`` with ``X-Amz-Target: AWSEvents.PutEvents``), records every event, and delivers
each one to the functions whose ``EventBridgeRule`` in template.yaml matches its ``source`` and
``detail-type`` (local/template.py reads them, parameters at their defaults), through the invoker,
synchronously: when a put returns, its consumers have run (in AWS delivery is asynchronous and at
least once; a consumer that fails is logged here, where Lambda would retry it and then dead-letter it).

``GET /dev/events`` lists what was put, oldest first: ``{"events": [{"source", "detail-type",
"detail", "time"}, ...]}``; ``POST /dev/events`` with ``{"source", "detail-type", "detail"}`` puts one
event, as an order service would (``PaymentSucceeded`` completes a checkout before the POST returns).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from local import template

log = logging.getLogger(__name__)

PUT_EVENTS = "AWSEvents.PutEvents"
AMZ_JSON = "application/x-amz-json-1.1"
# What a consumer runs on: the invoker of the local stack (``Invoker.invoke``).
Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


def _time(value: Any) -> str:
    """An entry's ``Time`` (botocore sends epoch seconds) as EventBridge shows it: ISO 8601, UTC."""
    moment = datetime.fromtimestamp(float(value), UTC) if isinstance(value, int | float) else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class LocalBus:
    def __init__(self, invoke: Invoke | None = None, rules: Sequence[template.EventRule] | None = None) -> None:
        self._invoke = invoke
        self.rules = list(template.event_rules() if rules is None else rules)
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.failures: list[str] = []  # consumers that raised, for the tests
        self.endpoint = ""  # where it is served (BusServer), for AWS_ENDPOINT_URL_EVENTBRIDGE

    @property
    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    def put(self, source: str, detail_type: str, detail: dict[str, Any], time: Any = None) -> str:
        """Record one event and deliver it to every matching rule's function; its id."""
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": source,
            "account": "000000000000",
            "time": _time(time),
            "region": "local",
            "resources": [],
            "detail": detail,
        }
        with self._lock:
            self._events.append(event)
        for rule in self.rules:
            if self._invoke is not None and rule.matches(source, detail_type):
                try:
                    if rule.queue is None:
                        self._invoke(rule.function, event)
                    else:
                        self._deliver_through_queue(rule, event)
                except Exception as exc:  # Lambda would retry, then dead-letter it
                    self.failures.append(f"{rule.function}: {type(exc).__name__}")
                    log.warning("%s failed on %s from %s: %s", rule.function, detail_type, source, type(exc).__name__)
        return str(event["id"])

    def _deliver_through_queue(self, rule: template.EventRule, event: dict[str, Any]) -> None:
        """A rule that targets a queue (the catalog events'): the function gets the event as SQS's
        event source mapping would hand it over, a batch of one message whose body is the event. A
        message it names in ``batchItemFailures`` would be delivered again (then dead-lettered): here
        it is logged and counted in ``failures``."""
        message_id = str(uuid.uuid4())
        batch = {
            "Records": [
                {
                    "messageId": message_id,
                    "receiptHandle": message_id,
                    "body": json.dumps(event),
                    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:local:000000000000:{rule.queue}",
                    "awsRegion": "local",
                }
            ]
        }
        answer = self._invoke(rule.function, batch) if self._invoke is not None else {}
        if (answer or {}).get("batchItemFailures"):
            self.failures.append(f"{rule.function}: batch item failure")
            log.warning("%s did not take %s (SQS would deliver it again)", rule.function, event["detail-type"])

    # --- HTTP: PutEvents, /dev/events ------------------------------------------------------------

    def put_events(self, request: Request) -> Response:
        """``PutEvents`` as EventBridge answers it: an entry without Source, DetailType or a JSON
        object Detail fails on its own (``ErrorCode``), the others are put."""
        if request.headers.get("X-Amz-Target") != PUT_EVENTS:
            return Response(json.dumps({"__type": "UnknownOperationException"}), 400, content_type=AMZ_JSON)
        try:
            entries = json.loads(request.get_data(cache=False) or b"{}").get("Entries") or []
        except ValueError:
            return Response(json.dumps({"__type": "SerializationException"}), 400, content_type=AMZ_JSON)
        results: list[dict[str, str]] = []
        for entry in entries:
            try:
                detail = json.loads(entry.get("Detail") or "")
            except ValueError:
                detail = None
            if not entry.get("Source") or not entry.get("DetailType") or not isinstance(detail, dict):
                results.append({"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is not a JSON object"})
                continue
            results.append({"EventId": self.put(entry["Source"], entry["DetailType"], detail, entry.get("Time"))})
        failed = sum(1 for result in results if "ErrorCode" in result)
        return Response(json.dumps({"FailedEntryCount": failed, "Entries": results}), content_type=AMZ_JSON)

    def dev_events(self, request: Request) -> Response:
        if request.method == "GET":
            listed = [{key: event[key] for key in ("source", "detail-type", "detail", "time")} for event in self.events]
            return Response(json.dumps({"events": listed}), content_type="application/json")
        try:
            body = json.loads(request.get_data(cache=False) or b"null")
        except ValueError:
            body = None
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("source"), str)
            or not isinstance(body.get("detail-type"), str)
            or not isinstance(body.get("detail"), dict)
        ):
            problem = {
                "type": "/problems/bad_request", "title": "Bad request", "status": 400, "code": "bad_request",
                "detail": 'Send {"source": "...", "detail-type": "...", "detail": {...}}',
            }  # fmt: skip
            return Response(json.dumps(problem), 400, content_type="application/problem+json")
        event_id = self.put(body["source"], body["detail-type"], body["detail"])
        return Response(json.dumps({"id": event_id}), 201, content_type="application/json")

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """The bus alone (the tests' session bus): PutEvents on ``/``, and ``/dev/events``."""
        request = Request(environ)
        if request.path == "/dev/events":
            response = self.dev_events(request)
        elif request.method == "POST" and request.path == "/":
            response = self.put_events(request)
        else:
            response = Response(json.dumps({"message": "Not Found"}), 404, content_type="application/json")
        return response(environ, start_response)


class BusServer:
    """``bus`` served on 127.0.0.1:``port`` (0: a free one) in a thread: ``endpoint`` is what
    AWS_ENDPOINT_URL_EVENTBRIDGE names."""

    def __init__(self, bus: LocalBus, port: int = 0) -> None:
        self.bus = bus
        self._server: BaseWSGIServer = make_server("127.0.0.1", port, bus.wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-bus", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> BusServer:
        self.bus.endpoint = self.endpoint
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


def environment(endpoint: str) -> dict[str, str]:
    """What the functions need to publish to a local bus: the endpoint, the bus's name and
    credentials for boto3 to sign with (the local bus does not check them)."""
    return {
        "AWS_ENDPOINT_URL_EVENTBRIDGE": endpoint,
        "EVENT_BUS_NAME": "cart-local",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",  # the local bus checks no signature
        "AWS_DEFAULT_REGION": "us-east-1",
    }
