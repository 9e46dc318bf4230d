"""Reading a Web API call: the merged query + body parameters (form, multipart or JSON) as :class:`Params`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from fakes.slack.state import JSON, Channel, SlackError

if TYPE_CHECKING:
    from fakes.slack.app import FakeSlack


def content_type(header: str) -> tuple[str, dict[str, str]]:
    main, *rest = header.split(";")
    options: dict[str, str] = {}
    for item in rest:
        key, _, value = item.strip().partition("=")
        options[key.lower()] = value.strip().strip('"')
    return main.strip().lower(), options


def parse_multipart(body: bytes, boundary: str) -> dict[str, tuple[bytes, str | None]]:
    """``{field: (bytes, filename or None)}`` from a multipart/form-data body."""
    fields: dict[str, tuple[bytes, str | None]] = {}
    if not boundary:
        return fields
    for part in body.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n")
        head, _, data = part.partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        name: str | None = None
        filename: str | None = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() != "content-disposition":
                continue
            _, options = content_type(value)
            name = options.get("name")
            filename = options.get("filename")
        if name is not None:
            fields[name] = (data, filename)
    return fields


class Params:
    """Typed access to the merged query + body parameters of one call."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, dict | list):
            return json.dumps(value)
        return str(value)

    def ref(self, key: str) -> str | None:
        """A text parameter where an empty string means "absent" (ids, ts values)."""
        return self.text(key) or None

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "yes")

    def number(self, key: str, default: int) -> int:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments", f"{key} must be an integer") from None

    def decoded(self, key: str, error: str) -> Any:
        """A JSON parameter: already decoded in a JSON body, a JSON string in a form body."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, str | bytes):
            try:
                return json.loads(value)
            except ValueError:
                raise SlackError(error) from None
        return value

    def blocks(self) -> list[JSON] | None:
        blocks = self.decoded("blocks", "invalid_blocks_format")
        if blocks is not None and not isinstance(blocks, list):
            raise SlackError("invalid_blocks", "must be an array [json-pointer:/blocks]")
        return blocks

    def attachments(self) -> list[JSON] | None:
        attachments = self.decoded("attachments", "invalid_attachments")
        if attachments is not None and not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        return attachments

    def metadata(self) -> JSON | None:
        metadata = self.decoded("metadata", "invalid_metadata_format")
        if metadata is None:
            return None
        if (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("event_type"), str)
            or not isinstance(metadata.get("event_payload", {}), dict)
        ):
            raise SlackError("invalid_metadata_format")
        return metadata


Method = Callable[["FakeSlack", Params], Awaitable[JSON]]
"""One Web API method: the fake and the call's parameters in, the ``ok: true`` answer's fields out."""


def bot_in(fake: FakeSlack, channel: Channel) -> None:
    """SlackError("not_in_channel") unless the bot is a member of ``channel``."""
    if not channel.has_member(fake.state.bot.id):
        raise SlackError("not_in_channel")


def bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, None without one."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


@dataclass
class Call:
    """One Web API request as slack_sdk sends it: parameters, the token, and a body we could not read."""

    params: dict[str, Any]
    token: str | None
    parse_error: str | None


async def read_call(request: Request) -> Call:
    """Query string plus a form-encoded, multipart or JSON body; the token from the header or the body."""
    params: dict[str, Any] = dict(request.query_params)
    token = bearer(request)
    body = await request.body()
    ctype, options = content_type(request.headers.get("content-type", ""))
    parse_error: str | None = None
    if body:
        if ctype == "application/json":
            try:
                decoded = json.loads(body)
            except ValueError:
                decoded = None
            if isinstance(decoded, dict):
                params.update(decoded)
            else:
                parse_error = "invalid_json"
        elif ctype == "multipart/form-data":
            for name, (value, filename) in parse_multipart(body, options.get("boundary", "")).items():
                params[name] = value if filename is not None else value.decode("utf-8", "replace")
        else:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    body_token = params.pop("token", None)
    if token is None and isinstance(body_token, str) and body_token:
        token = body_token
    return Call(params, token, parse_error)
