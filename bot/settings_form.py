"""The channel settings form (`/draft settings`): a modal whose fields show what the channel sets now.

Each field's block id is the name its error comes back under (``response_action: errors``); every field
is optional, and an empty one means the workspace's default (the environment)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.blocks import SETTINGS_MODAL, clip, context
from bot.blocks.kit import section
from bot.channel_settings import MAX_BRAND_NOTES, QUALITIES, ChannelValues
from bot.destinations import CATALOG

WORKSPACE = "workspace"  # the option that leaves a choice to the workspace's default
NO_DEFAULT = "none"
FIELDS = (
    "approvers",
    "approver_groups",
    "owners",
    "required_approvals",
    "self_approval",
    "default_destination",
    "default_variants",
    "vote_window",
    "brand_notes",
    "provider",
    "quality",
    "monthly_budget_usd",
)


def settings_modal(
    channel_id: str,
    values: ChannelValues | None,
    *,
    providers: Sequence[str],
    group_handles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The form for ``channel_id``, filled with ``values``; ``group_handles`` (id -> handle) shows the
    approver groups by handle where Slack named them."""
    v = values or ChannelValues()
    handles = group_handles or {}
    groups = " ".join(f"@{handles[g]}" if g in handles else g for g in v.approver_groups)
    self_approval = {None: WORKSPACE, True: "yes", False: "no"}[v.allow_self_approval]
    return {
        "type": "modal",
        "callback_id": SETTINGS_MODAL,
        "private_metadata": channel_id,
        "title": {"type": "plain_text", "text": "Channel settings"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(f"Settings for <#{channel_id}>. An empty field keeps the workspace's default."),
            _users("approvers", "Approvers", v.approvers),
            _text(
                "approver_groups",
                "Approver user groups",
                groups,
                hint="Handles or ids, e.g. @design-leads S0123ABC; their members approve too.",
            ),
            _text("required_approvals", "Approvals the 4K needs", _number(v.required_approvals)),
            _choice(
                "self_approval",
                "May requesters approve their own drafts?",
                [(WORKSPACE, "The workspace's default"), ("yes", "Yes"), ("no", "No")],
                self_approval,
                radio=True,
            ),
            _users("owners", "Owners (may change these settings)", v.owners),
            _choice(
                "default_destination",
                "Default destination",
                [(NO_DEFAULT, "None"), *((d.key, f"{d.name} ({d.ratio})") for d in CATALOG)],
                v.default_destination or NO_DEFAULT,
            ),
            _text("default_variants", "Default number of variants (1–8)", _number(v.default_variants)),
            _text(
                "vote_window",
                "Voting window",
                _duration(v.vote_window_seconds),
                hint="How long voting stays open, like 2h, 90m or 1d.",
            ),
            _text(
                "brand_notes",
                "Brand notes",
                v.brand_notes or "",
                hint=f"Added to every prompt drafted here (at most {MAX_BRAND_NOTES} characters), "
                "e.g. matte, warm orange accents, no text, no people.",
                multiline=True,
            ),
            _choice(
                "provider",
                "Image provider",
                [(WORKSPACE, "The workspace's"), *((p, p) for p in providers)],
                v.provider if v.provider and v.provider in providers else WORKSPACE,
            ),
            _choice(
                "quality",
                "Quality (OpenAI)",
                [(WORKSPACE, "The workspace's"), *((q, q) for q in QUALITIES)],
                v.quality or WORKSPACE,
            ),
            _text(
                "monthly_budget_usd",
                "Monthly budget (USD)",
                "" if v.monthly_budget_usd is None else f"{v.monthly_budget_usd:g}",
                hint="Empty: no limit of the channel's own.",
            ),
            context("Changes apply to drafts made from now on, and are kept in the audit trail."),
        ],
    }


def _duration(seconds: int | None) -> str:
    """``1h30m``: as ``--vote`` takes it, so the field reads back as it was typed."""
    if not seconds:
        return ""
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _label(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _input(block_id: str, label: str, element: dict[str, Any], hint: str | None = None) -> dict[str, Any]:
    block = {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": _label(label),
        "element": element,
    }
    if hint:
        block["hint"] = _label(hint)
    return block


def _users(block_id: str, label: str, users: Sequence[str]) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "multi_users_select", "action_id": "value"}
    if users:
        element["initial_users"] = list(users)
    return _input(block_id, label, element)


def _text(
    block_id: str, label: str, value: str, *, hint: str | None = None, multiline: bool = False
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    if value:
        element["initial_value"] = value
    return _input(block_id, label, element, hint)


def _choice(
    block_id: str, label: str, options: Sequence[tuple[str, str]], chosen: str, *, radio: bool = False
) -> dict[str, Any]:
    shown = [{"text": _label(clip(text, 75)), "value": value} for value, text in options]
    element: dict[str, Any] = {
        "type": "radio_buttons" if radio else "static_select",
        "action_id": "value",
        "options": shown,
    }
    initial = next((o for o in shown if o["value"] == chosen), None)
    if initial is not None:
        element["initial_option"] = initial
    return _input(block_id, label, element)
