"""Signed delivery from the fake Slack to the app: slash commands, events, block actions, view submissions.

Requests are signed exactly like Slack signs them (``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` =
``v0=`` + hex HMAC-SHA256(signing secret, ``v0:{ts}:`` + raw body)), with an injectable clock for
stale-signature tests. What Slack does with the app's answer is mirrored on the fake's state: a slash
command ack carrying a message becomes an ephemeral (or in-channel) message, and a view submission's
``response_action`` updates, pushes or closes the modal.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from fakes.slack.state import JSON, Clock, SlackError

if TYPE_CHECKING:
    from fakes.slack.app import FakeSlack

logger = logging.getLogger(__name__)


def slack_signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """``v0=`` + hex HMAC-SHA256 over ``v0:{timestamp}:{body}``, as Slack computes it."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class DeliveryRecord:
    """One request sent to the app, and what came back."""

    kind: str
    payload: JSON
    body: bytes
    headers: dict[str, str]
    status: int | None = None
    response_body: bytes = b""
    error: str | None = None
    extra: JSON = field(default_factory=dict)


class SlackDelivery:
    """Sends signed Slack requests to the app's request URL (e.g. ``http://127.0.0.1:PORT/slack/events``)."""

    def __init__(
        self,
        fake: FakeSlack,
        request_url: str,
        signing_secret: str,
        *,
        clock: Clock | None = None,
        api_app_id: str | None = None,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.fake = fake
        self.request_url = request_url
        self.signing_secret = signing_secret
        self.clock: Clock = clock or time.time  # signing time; independent of the workspace clock
        self.api_app_id = api_app_id or fake.state.app_id
        self.records: list[DeliveryRecord] = []
        self._owns_client = client is None
        # trust_env=False: the app is local; proxies from the environment must not intercept it.
        self._client = client or httpx.AsyncClient(timeout=timeout, trust_env=False)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # ------------------------------------------------------------------------------------------ signing

    def signature_headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(self.clock()) if timestamp is None else timestamp)
        return {
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": slack_signature(self.signing_secret, ts, body),
        }

    async def post(
        self,
        kind: str,
        payload: JSON,
        body: bytes,
        content_type: str,
        *,
        headers: Mapping[str, str] | None = None,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """POST a raw, signed body to the request URL and record the exchange."""
        all_headers = {
            "Content-Type": content_type,
            **self.signature_headers(body, timestamp),
            **(headers or {}),
        }
        record = DeliveryRecord(kind=kind, payload=payload, body=body, headers=all_headers)
        self.records.append(record)
        try:
            response = await self._client.post(self.request_url, content=body, headers=all_headers)
        except httpx.HTTPError as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            raise
        record.status = response.status_code
        record.response_body = response.content
        return response

    def records_for(self, kind: str) -> list[DeliveryRecord]:
        return [r for r in self.records if r.kind == kind]

    # ------------------------------------------------------------------------------------------ helpers

    def _user(self, user_id: str) -> JSON:
        user = self.fake.state.get_user(user_id)
        return {"id": user.id, "username": user.name, "name": user.name, "team_id": self.fake.state.team.id}

    def _team(self) -> JSON:
        team = self.fake.state.team
        return {"id": team.id, "domain": team.domain}

    def _channel_name(self, channel_id: str) -> str:
        channel = self.fake.state.get_channel(channel_id)
        return "directmessage" if channel.is_im else channel.name

    # ----------------------------------------------------------------------------------------- requests

    async def send_slash_command(
        self,
        user_id: str,
        channel_id: str,
        text: str,
        command: str = "/draft",
        *,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """Deliver a slash command (form-encoded); an ack carrying a message is shown like Slack shows it."""
        state = self.fake.state
        user = state.get_user(user_id)
        channel_name = self._channel_name(channel_id)
        response_url = self.fake.issue_response_url(user_id, channel_id)
        fields = {
            "token": self.fake.verification_token,
            "team_id": state.team.id,
            "team_domain": state.team.domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user.id,
            "user_name": user.name,
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": state.issue_trigger(user_id),
        }
        body = urlencode(fields).encode()
        response = await self.post(
            "slash_command", fields, body, "application/x-www-form-urlencoded", timestamp=timestamp
        )
        self._show_command_ack(response, user_id, channel_id)
        return response

    def _show_command_ack(self, response: httpx.Response, user_id: str, channel_id: str) -> None:
        if response.status_code != 200 or not response.content.strip():
            return
        state = self.fake.state
        try:
            ack: Any = response.json()
        except ValueError:
            ack = {"text": response.text}
        if not isinstance(ack, dict) or not any(k in ack for k in ("text", "blocks", "attachments")):
            return
        text = ack.get("text")
        blocks = ack.get("blocks")
        attachments = ack.get("attachments")
        try:
            if ack.get("response_type") == "in_channel":
                state.post_message(
                    channel_id, user=state.bot.id, text=text, blocks=blocks, attachments=attachments
                )
            else:
                state.post_ephemeral(
                    channel_id,
                    user_id,
                    text=text,
                    blocks=blocks,
                    attachments=attachments,
                    source="command_ack",
                )
        except SlackError as exc:
            logger.warning("slash command ack could not be shown: %s", exc)

    async def send_event(
        self,
        event: JSON,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """Deliver an Events API ``event_callback`` (JSON); retries carry ``X-Slack-Retry-*`` headers."""
        state = self.fake.state
        event = dict(event)
        event.setdefault("event_ts", state.next_ts())
        envelope: JSON = {
            "token": self.fake.verification_token,
            "team_id": state.team.id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or state.new_id("Ev", 11),
            "event_time": int(self.clock()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": state.team.id,
                    "user_id": state.bot.id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{state.team.id}-{event.get('type', 'event')}",
        }
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        body = json.dumps(envelope).encode()
        return await self.post(
            "event", envelope, body, "application/json", headers=headers, timestamp=timestamp
        )

    async def send_url_verification(self, challenge: str = "playground-challenge") -> httpx.Response:
        payload: JSON = {
            "token": self.fake.verification_token,
            "challenge": challenge,
            "type": "url_verification",
        }
        return await self.post("url_verification", payload, json.dumps(payload).encode(), "application/json")

    async def _send_interaction(self, kind: str, payload: JSON, timestamp: int | None) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.post(kind, payload, body, "application/x-www-form-urlencoded", timestamp=timestamp)

    def _message_context(self, channel_id: str, message_ts: str) -> tuple[JSON, bool, str | None]:
        """(message JSON, is_ephemeral, thread_ts) of a channel message or an ephemeral one."""
        state = self.fake.state
        if message_ts in state.channel_messages(channel_id):
            message = state.get_message(channel_id, message_ts)
            return state.message_json(message), False, message.thread_ts
        ephemeral = state.get_ephemeral(message_ts)
        if ephemeral is None or ephemeral.channel != channel_id:
            raise SlackError("message_not_found")
        return state.ephemeral_json(ephemeral), True, ephemeral.thread_ts

    @staticmethod
    def _find_element(blocks: Any, action_id: str) -> tuple[JSON, JSON] | None:
        """(block, element) holding ``action_id`` in actions elements or a section accessory."""
        if not isinstance(blocks, list):
            return None
        for block in blocks:
            if not isinstance(block, dict):
                continue
            elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
            if isinstance(block.get("accessory"), dict):
                elements.append(block["accessory"])
            for element in elements:
                if isinstance(element, dict) and element.get("action_id") == action_id:
                    return block, element
        return None

    async def send_block_action(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
        *,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """A person clicks the button ``action_id`` on a message (block_id, text, value from its blocks), or
        picks the option whose value is ``value`` in the select menu ``action_id``."""
        state = self.fake.state
        message, is_ephemeral, thread_ts = self._message_context(channel_id, message_ts)
        found = self._find_element(message.get("blocks"), action_id)
        element: JSON = found[1] if found else {}
        action: JSON = {
            "action_id": action_id,
            "block_id": block_id or (found[0].get("block_id") if found else None) or "playground",
            "type": element.get("type", "button"),
            "action_ts": f"{self.clock():.6f}",
        }
        if element.get("type") == "static_select":
            options = [o for o in element.get("options") or [] if isinstance(o, dict)]
            chosen = next((o for o in options if o.get("value") == value), None)
            action["selected_option"] = chosen or {
                "text": {"type": "plain_text", "text": value},
                "value": value,
            }
            if "placeholder" in element:
                action["placeholder"] = element["placeholder"]
        else:
            action_value = value if value is not None else element.get("value")
            if action_value is not None:
                action["value"] = action_value
            action["text"] = element.get("text") or {"type": "plain_text", "text": action_id, "emoji": True}
            if "style" in element:
                action["style"] = element["style"]
        container: JSON = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
        if thread_ts:
            container["thread_ts"] = thread_ts
        payload: JSON = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.fake.verification_token,
            "container": container,
            "trigger_id": state.issue_trigger(user_id),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
            "message": message,
            "state": {"values": {}},
            "response_url": self.fake.issue_response_url(
                user_id, channel_id, message_ts=message_ts, thread_ts=thread_ts
            ),
            "actions": [action],
        }
        return await self._send_interaction("block_actions", payload, timestamp)

    async def send_view_action(
        self,
        user_id: str,
        view_id: str,
        action_id: str,
        value: str | None = None,
        *,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """A person clicks the button ``action_id`` (the one whose value is ``value``, if given) in a view,
        such as their Home: ``container.type`` is ``view``, and there is no channel and no response_url."""
        state = self.fake.state
        record = state.find_view(view_id)
        view = state.view_json(record)
        block, element = next(
            (
                (b, e)
                for b in view.get("blocks") or []
                if isinstance(b, dict)
                for e in [
                    *(b.get("elements") or [] if b.get("type") == "actions" else []),
                    b.get("accessory"),
                ]
                if isinstance(e, dict)
                and e.get("action_id") == action_id
                and (value is None or e.get("value") == value)
            ),
            ({}, {}),
        )
        action: JSON = {
            "action_id": action_id,
            "block_id": block.get("block_id") or "playground",
            "type": element.get("type", "button"),
            "action_ts": f"{self.clock():.6f}",
            "text": element.get("text") or {"type": "plain_text", "text": action_id, "emoji": True},
        }
        if (chosen := value if value is not None else element.get("value")) is not None:
            action["value"] = chosen
        payload: JSON = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.fake.verification_token,
            "container": {"type": "view", "view_id": view_id},
            "trigger_id": state.issue_trigger(user_id),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": view,
            "state": {"values": {}},
            "actions": [action],
        }
        return await self._send_interaction("block_actions", payload, timestamp)

    async def send_message_shortcut(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        callback_id: str,
        *,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """A person runs the message shortcut ``callback_id`` on a message."""
        state = self.fake.state
        message, _, thread_ts = self._message_context(channel_id, message_ts)
        payload: JSON = {
            "type": "message_action",
            "token": self.fake.verification_token,
            "action_ts": f"{self.clock():.6f}",
            "team": self._team(),
            "user": self._user(user_id),
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": state.issue_trigger(user_id),
            "response_url": self.fake.issue_response_url(
                user_id, channel_id, message_ts=message_ts, thread_ts=thread_ts
            ),
            "message_ts": message_ts,
            "message": message,
        }
        return await self._send_interaction("message_action", payload, timestamp)

    async def send_view_submission(
        self,
        user_id: str,
        view_id: str,
        values: Mapping[str, Mapping[str, Any]],
        *,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """Submit a modal with ``values`` = ``{block_id: {action_id: value-object or plain string}}``.

        The app's answer is applied like Slack does: ``response_action`` errors (the modal stays open),
        update, push, clear; an empty 200 closes the submitted view.
        """
        state = self.fake.state
        record = state.find_view(view_id)
        record.state_values = {
            block_id: {
                action_id: {"type": "plain_text_input", "value": v} if isinstance(v, str) else dict(v)
                for action_id, v in actions.items()
            }
            for block_id, actions in values.items()
        }
        payload: JSON = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.fake.verification_token,
            "trigger_id": state.issue_trigger(user_id),
            "view": state.view_json(record),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        response = await self._send_interaction("view_submission", payload, timestamp)
        if response.status_code == 200:
            self._apply_view_response(view_id, response)
        return response

    def _apply_view_response(self, view_id: str, response: httpx.Response) -> None:
        state = self.fake.state
        answer: Any = None
        if response.content.strip():
            try:
                answer = response.json()
            except ValueError:
                answer = None
        action = answer.get("response_action") if isinstance(answer, dict) else None
        try:
            if action == "errors":
                return
            if action == "update" and isinstance(answer, dict):
                state.update_view(answer.get("view"), view_id=view_id)
            elif action == "push" and isinstance(answer, dict):
                state.push_view(state.issue_trigger(state.views[view_id].user_id), answer.get("view"))
            else:
                state.close_view(view_id, clear=action == "clear")
        except SlackError as exc:
            logger.warning("view submission response could not be applied: %s", exc)


__all__ = ["DeliveryRecord", "SlackDelivery", "slack_signature"]
