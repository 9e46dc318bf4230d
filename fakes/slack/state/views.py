"""Modals and Home tabs: trigger ids, the per-user modal stack (open, push, update, close), the Home tab
(publish), validation, ``view_json``."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from fakes.slack.state.blockkit import view_errors
from fakes.slack.state.blocks import MAX_VIEW_BLOCKS, BlockValidator
from fakes.slack.state.changes import ChangeFeed
from fakes.slack.state.directory import Directory
from fakes.slack.state.files import Files
from fakes.slack.state.records import JSON, SlackError, Trigger, ViewRecord


class Views:
    def __init__(self, directory: Directory, feed: ChangeFeed, files: Files, *, trigger_ttl: float) -> None:
        self.directory = directory
        self.feed = feed
        self.files = files
        self.trigger_ttl = trigger_ttl
        self.views: dict[str, ViewRecord] = {}
        self.modal_stacks: dict[str, list[str]] = {}  # user -> view ids, bottom first
        self.triggers: dict[str, Trigger] = {}  # runtime only: never saved

    # triggers

    def issue_trigger(self, user_id: str) -> str:
        clock = self.directory.clock
        trigger_id = f"{int(clock())}.{self.directory.new_id('', 12)}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = Trigger(trigger_id, user_id, clock())
        return trigger_id

    def consume_trigger(self, trigger_id: str | None) -> str:
        """The user the trigger was issued to; errors as views.open reports them."""
        trigger = self.triggers.get(trigger_id or "")
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self.directory.clock() - trigger.issued_at > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger.user_id

    # views

    def validate_view(self, view: Any, *, expected: str | None = None) -> JSON:
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments", "view must be an object [json-pointer:/view]")
        errors: list[str] = []
        kind = view.get("type")
        if kind not in ("modal", "home") or (expected is not None and kind != expected):
            allowed = expected or "modal|home"
            errors.append(f"must be one of {allowed} [json-pointer:/view/type]")
        validator = BlockValidator(self.files.resolve_slack_file, "/view/blocks")
        if kind == "modal":
            validator.text_object(view.get("title"), "/view/title", max_len=24, plain_only=True)
            for key in ("submit", "close"):
                if view.get(key) is not None:
                    validator.text_object(view[key], f"/view/{key}", max_len=24, plain_only=True)
            blocks = view.get("blocks")
            if (
                isinstance(blocks, list)
                and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
                and view.get("submit") is None
            ):
                errors.append("must provide submit when there are input blocks [json-pointer:/view/submit]")
        validator.blocks(view.get("blocks"), MAX_VIEW_BLOCKS)
        errors.extend(validator.errors)
        for key, limit in (("callback_id", 255), ("private_metadata", 3000), ("external_id", 255)):
            value = view.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                errors.append(f"must be a string of at most {limit} characters [json-pointer:/view/{key}]")
        if not errors:  # the blocks are fine: what slack_sdk's View says about the rest
            errors.extend(view_errors(view))
        if errors:
            raise SlackError("invalid_arguments", *errors)
        return copy.deepcopy(view)

    def _new_hash(self) -> str:
        return f"{int(self.directory.clock())}.{secrets.token_hex(4)}"

    def _new_view(
        self, user_id: str, view: JSON, *, previous: str | None = None, root: str | None = None
    ) -> ViewRecord:
        view_id = self.directory.new_id("V")
        record = ViewRecord(
            id=view_id,
            user_id=user_id,
            type=str(view["type"]),
            view=view,
            hash=self._new_hash(),
            root_view_id=root or view_id,
            previous_view_id=previous,
        )
        self.views[view_id] = record
        return record

    def open_view(self, trigger_id: str | None, view: Any) -> ViewRecord:
        definition = self.validate_view(view, expected="modal")
        user_id = self.consume_trigger(trigger_id)
        for old in self.modal_stacks.pop(user_id, []):
            self.views[old].closed = True
        record = self._new_view(user_id, definition)
        self.modal_stacks[user_id] = [record.id]
        self.feed.changed("view_opened", view=record.id, user=user_id)
        return record

    def push_view(self, trigger_id: str | None, view: Any) -> ViewRecord:
        definition = self.validate_view(view, expected="modal")
        user_id = self.consume_trigger(trigger_id)
        stack = self.modal_stacks.get(user_id)
        if not stack:
            raise SlackError("not_found", "no modal is open for this user")
        if len(stack) >= 3:
            raise SlackError("push_limit_reached")
        record = self._new_view(user_id, definition, previous=stack[-1], root=stack[0])
        stack.append(record.id)
        self.feed.changed("view_pushed", view=record.id, user=user_id)
        return record

    def find_view(self, view_id: str | None = None, external_id: str | None = None) -> ViewRecord:
        if view_id and view_id in self.views and not self.views[view_id].closed:
            return self.views[view_id]
        if external_id:
            for record in self.views.values():
                if record.view.get("external_id") == external_id and not record.closed:
                    return record
        raise SlackError("not_found")

    def update_view(
        self,
        view: Any,
        *,
        view_id: str | None = None,
        external_id: str | None = None,
        hash: str | None = None,
    ) -> ViewRecord:
        record = self.find_view(view_id, external_id)
        definition = self.validate_view(view, expected=record.type)
        if hash is not None and hash != record.hash:
            raise SlackError("hash_conflict")
        record.view = definition
        record.hash = self._new_hash()
        self.feed.changed("view_updated", view=record.id, user=record.user_id)
        return record

    def publish_home(self, user_id: str, view: Any, *, hash: str | None = None) -> ViewRecord:
        """views.publish: the user's Home tab, created on first publish and replaced after."""
        self.directory.get_user(user_id)
        definition = self.validate_view(view, expected="home")
        record = next((r for r in self.views.values() if r.type == "home" and r.user_id == user_id), None)
        if record is None:
            record = self._new_view(user_id, definition)
            self.feed.changed("home_published", view=record.id, user=user_id)
            return record
        if hash is not None and hash != record.hash:
            raise SlackError("hash_conflict")
        record.view = definition
        record.hash = self._new_hash()
        self.feed.changed("home_published", view=record.id, user=user_id)
        return record

    def close_view(self, view_id: str, *, clear: bool = False) -> None:
        """Close a modal (``clear``: the whole stack), as after a submission without response_action."""
        record = self.views.get(view_id)
        if record is None:
            raise SlackError("not_found")
        stack = self.modal_stacks.get(record.user_id, [])
        to_close = list(stack) if clear else stack[stack.index(view_id) :] if view_id in stack else [view_id]
        for closing in to_close:
            self.views[closing].closed = True
            if closing in stack:
                stack.remove(closing)
        if not stack:
            self.modal_stacks.pop(record.user_id, None)
        self.feed.changed("view_closed", view=view_id, user=record.user_id)

    def open_views_for(self, user_id: str) -> list[ViewRecord]:
        return [self.views[v] for v in self.modal_stacks.get(user_id, [])]

    # Web API shape

    def view_json(self, record: ViewRecord) -> JSON:
        view = record.view
        team_id = self.directory.team.id
        data: JSON = {
            "id": record.id,
            "team_id": team_id,
            "type": record.type,
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": copy.deepcopy(record.state_values)},
            "hash": record.hash,
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": record.root_view_id,
            "previous_view_id": record.previous_view_id,
            "app_id": self.directory.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": team_id,
            "bot_id": self.directory.bot.bot_id,
        }
        for key in ("title", "submit", "close"):
            if key in view:
                data[key] = copy.deepcopy(view[key])
        return data
