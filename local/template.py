"""What the local stack reads from ``template.yaml``: the HTTP routes, the function each one invokes,
and the HTTP API's CORS settings. There is no second route table to drift from the template."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """PyYAML loader that keeps CloudFormation's short-form intrinsics (``!Ref X``) as
    ``{"Ref": X}``-style dicts instead of failing on the unknown tags."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)  # YAML's third and last kind of node
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, ...
    path: str  # /cart/items/{itemId}
    function: str  # logical id, e.g. AddItemFunction
    code_dir: Path
    handler: str  # module.function, e.g. app.lambda_handler
    # The route's own API Gateway authorizer (``Auth: {Authorizer: AWS_IAM}``); None: no authorizer,
    # the function checks its callers itself (sessions, Cognito tokens, the admin group).
    authorizer: str | None = None

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def werkzeug_rule(self) -> str:
        return re.sub(r"\{(\w+)\}", r"<\1>", self.path)


@dataclass(frozen=True)
class Cors:
    allow_origins: tuple[str, ...]
    allow_headers: tuple[str, ...]
    allow_methods: tuple[str, ...]
    expose_headers: tuple[str, ...]
    allow_credentials: bool
    max_age: int


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return document


def _resolve(value: Any, parameters: dict[str, Any]) -> Any:
    """A ``!Ref`` to a parameter becomes the parameter's default; lists resolve element-wise."""
    if isinstance(value, dict) and "Ref" in value:
        default = parameters.get(value["Ref"], {}).get("Default")
        return [v.strip() for v in default.split(",")] if isinstance(default, str) and "," in default else default
    if isinstance(value, list):
        return [_resolve(v, parameters) for v in value]
    return value


@dataclass(frozen=True)
class Function:
    name: str  # logical id
    code_dir: Path
    handler: str


def functions(template: dict[str, Any] | None = None) -> list[Function]:
    """Every function in the template, with or without an HTTP route (e.g. the Cognito trigger)."""
    template = template or load()
    return [
        Function(
            name=name, code_dir=ROOT / resource["Properties"]["CodeUri"], handler=resource["Properties"]["Handler"]
        )
        for name, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::Serverless::Function"
    ]


def routes(template: dict[str, Any] | None = None) -> list[Route]:
    template = template or load()
    found = []
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})
        for event in (props.get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            found.append(
                Route(
                    method=event["Properties"]["Method"].upper(),
                    path=event["Properties"]["Path"],
                    function=name,
                    code_dir=ROOT / props["CodeUri"],
                    handler=props["Handler"],
                    authorizer=(event["Properties"].get("Auth") or {}).get("Authorizer"),
                )
            )
    return found


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (str(value),)


def cors(template: dict[str, Any] | None = None) -> Cors | None:
    template = template or load()
    parameters = template.get("Parameters", {})
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::HttpApi":
            config = resource.get("Properties", {}).get("CorsConfiguration")
            if not config:
                return None
            config = {key: _resolve(value, parameters) for key, value in config.items()}
            return Cors(
                allow_origins=_as_tuple(config.get("AllowOrigins")),
                allow_headers=tuple(h.lower() for h in _as_tuple(config.get("AllowHeaders"))),
                allow_methods=_as_tuple(config.get("AllowMethods")),
                expose_headers=_as_tuple(config.get("ExposeHeaders")),
                allow_credentials=bool(config.get("AllowCredentials")),
                max_age=int(config.get("MaxAge") or 0),
            )
    return None


def function_timeout_s(template: dict[str, Any] | None = None) -> int:
    template = template or load()
    return int(template.get("Globals", {}).get("Function", {}).get("Timeout", 3))


@dataclass(frozen=True)
class EventRule:
    """A function's ``EventBridgeRule`` event: the pattern's ``source`` and ``detail-type`` lists (the
    only pattern fields the local bus matches; a missing field matches anything)."""

    function: str  # logical id
    sources: tuple[str, ...] | None
    detail_types: tuple[str, ...] | None
    queue: str | None = None  # an AWS::Events::Rule whose target is the queue of the function's SQS event

    def matches(self, source: str, detail_type: str) -> bool:
        return (self.sources is None or source in self.sources) and (
            self.detail_types is None or detail_type in self.detail_types
        )


def event_rules(template: dict[str, Any] | None = None) -> list[EventRule]:
    """Every EventBridgeRule of the template's functions, ``!Ref`` parameters at their defaults."""
    template = template or load()
    parameters = template.get("Parameters", {})
    found = []
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "EventBridgeRule":
                continue
            pattern = event["Properties"].get("Pattern") or {}
            fields = {key: _resolve(pattern[key], parameters) for key in ("source", "detail-type") if key in pattern}
            found.append(
                EventRule(
                    function=name,
                    sources=_as_tuple(fields["source"]) if "source" in fields else None,
                    detail_types=_as_tuple(fields["detail-type"]) if "detail-type" in fields else None,
                )
            )
    return found + _queue_rules(template)


def _queue_rules(template: dict[str, Any]) -> list[EventRule]:
    """Rules (``AWS::Events::Rule``) that target a queue a function reads (its ``SQS`` event): the
    local bus hands their events to that function as SQS would, a batch of one message."""
    resources, parameters = template.get("Resources", {}), template.get("Parameters", {})
    readers: dict[str, str] = {}  # queue logical id -> function
    for name, resource in resources.items():
        if resource.get("Type") == "AWS::Serverless::Function":
            for event in (resource.get("Properties", {}).get("Events") or {}).values():
                queue = event.get("Properties", {}).get("Queue") if event.get("Type") == "SQS" else None
                if isinstance(queue, dict) and "Fn::GetAtt" in queue:
                    readers[str(queue["Fn::GetAtt"]).split(".")[0].strip("[]'\" ")] = name
    found = []
    for resource in resources.values():
        if resource.get("Type") != "AWS::Events::Rule":
            continue
        pattern = resource.get("Properties", {}).get("EventPattern") or {}
        fields = {key: _resolve(pattern[key], parameters) for key in ("source", "detail-type") if key in pattern}
        for target in resource.get("Properties", {}).get("Targets") or []:
            arn = target.get("Arn")
            queue = str(arn["Fn::GetAtt"]).split(".")[0] if isinstance(arn, dict) and "Fn::GetAtt" in arn else None
            if queue in readers:
                found.append(
                    EventRule(
                        function=readers[queue],
                        sources=_as_tuple(fields["source"]) if "source" in fields else None,
                        detail_types=_as_tuple(fields["detail-type"]) if "detail-type" in fields else None,
                        queue=queue,
                    )
                )
    return found
