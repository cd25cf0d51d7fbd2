"""What the API accepts as a request body, checked before any route sees it: its size, its media
type, and JSON that a client cannot use to exhaust the parser (nesting, huge integers, text that
PostgreSQL cannot store). Each refusal is a problem with its own code; docs/api.md (Input limits)
lists them.
"""

from __future__ import annotations

import json
from typing import Any

from cart_common.errors import MalformedJson, Problem, UnsupportedMediaType

# The largest honest body is an add with 20 attributes at their bounds, every character JSON-escaped
# (about 80 KB); a /cart/sync of 100 lines is about 12 KB. 256 KiB leaves room, far below Lambda's 6 MB.
MAX_BODY_BYTES = 256 * 1024
# Every request model is at most four levels deep ({"items": [{"attributes": {...}}]}).
MAX_JSON_DEPTH = 32
# No field holds a number of more than 16 digits (JavaScript's safe integers); past this, the
# literal is not converted at all: Python refuses past 4300 digits, and converting is quadratic.
_MAX_INTEGER_DIGITS = 20


def media_type_problem(content_type: str | None) -> Problem | None:
    """None when a body sent with ``content_type`` is read as JSON: ``application/json`` in any
    case, with parameters (a charset other than UTF-8 is refused), or no Content-Type at all (read
    as JSON, as Powertools and most JSON APIs do). Anything else is 415 ``unsupported_media_type``."""
    if content_type is None or not content_type.strip():
        return None
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    if media_type != "application/json":
        return UnsupportedMediaType(f"Unsupported Content-Type {media_type[:64]!r}: send application/json")
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            return UnsupportedMediaType("JSON request bodies are UTF-8")
    return None


def _integer(text: str) -> int | float:
    """json's ``parse_int``: an integer too long for any field becomes infinity, which every
    numeric field refuses by name (422 ``validation_failed``) instead of failing the parse."""
    if len(text) - text.startswith("-") <= _MAX_INTEGER_DIGITS:
        return int(text)
    return float("-inf") if text.startswith("-") else float("inf")


def _no_constant(name: str) -> Any:
    """json's ``parse_constant``: NaN and Infinity are not JSON (RFC 8259)."""
    raise MalformedJson(f"{name} is not a JSON value")


def _check_tree(value: Any) -> None:
    """Depth within ``MAX_JSON_DEPTH``, and every string storable as UTF-8 (a lone surrogate escape
    such as "\\ud800" is valid JSON text but no UTF-8 string, and PostgreSQL would refuse it)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = [*node.keys(), *node.values()]
        elif isinstance(node, list):
            children = node
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise MalformedJson("The body holds a string that is not valid Unicode (a lone surrogate)") from None
            continue
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise MalformedJson(f"The body is nested deeper than {MAX_JSON_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


def read_json(text: str) -> Any:
    """The resolver's JSON reader (Powertools' ``json_body_deserializer``)."""
    try:
        value = json.loads(text, parse_int=_integer, parse_constant=_no_constant)
    except RecursionError:
        # The C scanner stops at the interpreter's recursion limit before the tree check could.
        raise MalformedJson(f"The body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except json.JSONDecodeError:
        raise MalformedJson() from None
    _check_tree(value)
    return value
