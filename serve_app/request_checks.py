"""Client request bodies checked at the edge, before Ray or the engine sees them.

Every class of input that reached a 500 further in (found by fuzzing, see
reports/reliability.md) is refused here by shape, not case by case:

- a body larger than ``max_body_bytes`` is a 413, refused from its Content-Length
  before it is read, or as soon as the bytes read pass the limit;
- a body that is not UTF-8 JSON, holds NaN/Infinity, is not an object, nests deeper
  than ``max_json_depth`` (Python's parser recurses: a deep enough body was a
  RecursionError, a 500), has an array longer than ``max_array_items`` or an integer
  outside 64 bits is a 400;
- a chat message must be an object with a known role, and its content a string, null
  or a list of content parts, each an object with a known ``type`` (vLLM's chat
  renderer indexes both unchecked: a missing role or an unknown part type was a 500,
  an unknown role was silently accepted).

Arrays of integers are exempt from the item limit: they are token-id prompts, bounded
by the body size here and by the context window in the engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .config import RequestLimitsConfig

#: Roles OpenAI's chat API defines; vLLM renders any string, so a typo went unnoticed.
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
#: Content part types OpenAI's chat API defines and vLLM parses, each with the field
#: that carries its payload and the string keys that payload object needs (None: the
#: payload is a string). A part of the wrong shape was a 500 in Ray's request
#: sanitizer. Whether a model takes images or audio is the engine's to say (a 400).
PART_PAYLOADS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "text": ("text", None),
    "input_text": ("text", None),
    "output_text": ("text", None),
    "refusal": ("refusal", None),
    "thinking": ("thinking", None),
    "image_url": ("image_url", ("url",)),
    "input_image": ("image_url", None),
    "input_audio": ("input_audio", ("data", "format")),
    "audio_url": ("audio_url", ("url",)),
    "video_url": ("video_url", ("url",)),
}


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Problem:
    """Why a request is refused: the HTTP status, a message a client can act on, the parameter."""

    status: int
    message: str
    param: str | None = None


class NonStandardNumber(ValueError):
    """NaN/Infinity: Python's json accepts them, JSON does not, and a NaN sampling
    parameter passes every range check (all comparisons with NaN are false)."""


def _reject_constant(name: str) -> Any:
    raise NonStandardNumber(name)


def content_type_problem(headers: list[tuple[bytes, bytes]]) -> Problem | None:
    for name, value in headers:
        if name.lower() == b"content-type":
            content_type = value.split(b";")[0].strip().lower()
            if content_type and content_type != b"application/json":
                return Problem(400, f"Unsupported content type '{content_type.decode(errors='replace')}': send application/json.")
    return None


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def too_large(limit: int) -> Problem:
    return Problem(413, f"Request body is larger than the {limit}-byte limit.")


def parse(body: bytes, limits: RequestLimitsConfig) -> tuple[Any, Problem | None]:
    """The decoded JSON object, or why the body is refused."""
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        return None, Problem(400, "Request body is not valid UTF-8.")
    except json.JSONDecodeError as e:
        return None, Problem(400, f"Request body is not valid JSON: {e.msg} at position {e.pos}.")
    except NonStandardNumber as e:
        return None, Problem(400, f"Request body is not valid JSON: {e} is not a JSON number.")
    except RecursionError:
        return None, Problem(400, f"Request body nests deeper than {limits.max_json_depth} levels.")
    if not isinstance(data, dict):
        return None, Problem(400, "Request body must be a JSON object.")
    return data, None


def top_param(path: str) -> str | None:
    """The request parameter a body path is under: ``stop[3]`` -> ``stop``."""
    return path.split(".")[0].split("[")[0] or None


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def structure_problem(data: dict[str, Any], limits: RequestLimitsConfig) -> Problem | None:
    """Depth, array length and integer range, walked without recursion (the body may be adversarial)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
            # Python's ints are unbounded; the engine's are not (a huge integer the
            # request model let through failed inside the engine: a 500).
            return Problem(400, f"'{path}' is outside the 64-bit integer range.", top_param(path))
        if depth > limits.max_json_depth:
            return Problem(400, f"Request body nests deeper than {limits.max_json_depth} levels (at '{path}').", top_param(path))
        if isinstance(value, dict):
            stack.extend((v, _path(path, str(k)), depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            if value and set(map(type, value)) == {int}:
                # Token ids: bounded by the body size, checked in C, not walked item by item.
                if not (INT64_MIN <= min(value) and max(value) <= INT64_MAX):
                    return Problem(400, f"'{path}' holds an integer outside the 64-bit range.", top_param(path))
                continue
            if len(value) > limits.max_array_items:
                return Problem(400, f"'{path}' has {len(value)} items; at most {limits.max_array_items} are accepted.", top_param(path))
            stack.extend((v, _path(path, i), depth + 1) for i, v in enumerate(value))
    return None


def part_problem(part: Any, where: str) -> Problem | None:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        return Problem(400, f"{where} must be an object with a 'type' string.", "messages")
    kind = part["type"]
    if kind not in PART_PAYLOADS:
        return Problem(400, f"{where}.type '{kind[:64]}' is not a content part type; use one of: {', '.join(PART_PAYLOADS)}.", "messages")
    field, keys = PART_PAYLOADS[kind]
    payload = part.get(field)
    if keys is None and not isinstance(payload, str):
        return Problem(400, f"{where}.{field} must be a string in a part of type '{kind}'.", "messages")
    if keys is not None and not (isinstance(payload, dict) and all(isinstance(payload.get(k), str) for k in keys)):
        wanted = ", ".join(f"'{k}'" for k in keys)
        return Problem(400, f"{where}.{field} must be an object with string {wanted} in a part of type '{kind}'.", "messages")
    return None


def messages_problem(messages: Any) -> Problem | None:
    """Roles and content parts; the rest of a message is the request model's to check."""
    if not isinstance(messages, list):
        return Problem(400, "messages must be a list of message objects.", "messages")
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            return Problem(400, f"{where} must be an object with a 'role' string.", "messages")
        if message["role"] not in ROLES:
            return Problem(400, f"{where}.role '{message['role'][:64]}' is not a chat role; use one of: {', '.join(ROLES)}.", "messages")
        content = message.get("content")
        if content is None or isinstance(content, str):
            continue
        if not isinstance(content, list):
            return Problem(400, f"{where}.content must be a string, null or a list of content parts.", "messages")
        for j, part in enumerate(content):
            problem = part_problem(part, f"{where}.content[{j}]")
            if problem:
                return problem
    return None


def check_body(body: bytes, limits: RequestLimitsConfig) -> tuple[dict[str, Any] | None, Problem | None]:
    """The decoded body and the first problem with it, in the order a client would fix them."""
    if len(body) > limits.max_body_bytes:
        return None, too_large(limits.max_body_bytes)
    data, problem = parse(body, limits)
    if problem:
        return None, problem
    problem = structure_problem(data, limits)
    if not problem and "messages" in data:
        # Chat, and the chat forms of embeddings and tokenize.
        problem = messages_problem(data["messages"])
    return data, problem
