"""Channel settings: `/draft settings` and the SETTINGS_OPEN button open the form (for workspace admins
and the channel's owners; anyone else is told privately, and the refusal is audited), and its submission
is checked and stored, with each invalid value shown beside its field."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.channel_settings import FormInput
from bot.drafts.settings import ChannelSettingsService, Invalid, Saved
from bot.settings_form import NO_DEFAULT, WORKSPACE, settings_modal
from handlers.commands import Asked, SubcommandListener
from handlers.shared import NOTHING_CHANGED, Answer, acknowledge_once, as_dict, clean_text, slack_id

log = logging.getLogger(__name__)

ERROR_LIMIT = 150  # characters Slack shows beside a field
COULD_NOT_OPEN = "I could not open the settings form; please try again."
LOST_CONTEXT = "I lost track of which channel this form is for. Type /draft settings there again."


def register(app: AsyncApp, service: ChannelSettingsService) -> None:
    @app.action(blocks.SETTINGS_OPEN)
    async def open_from_button(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        actions = body.get("actions")
        action = as_dict(actions[0]) if isinstance(actions, list) and actions else {}
        team = slack_id(as_dict(body.get("team")).get("id"))
        user = slack_id(as_dict(body.get("user")).get("id"))
        channel = slack_id(action.get("value"))
        trigger = body.get("trigger_id")
        if not (team and user and channel and isinstance(trigger, str)):
            return
        text = await open_form(service, client, team=team, channel=channel, user=user, trigger=trigger)
        if text:
            try:
                await respond(text=text, response_type="ephemeral", replace_original=False)
            except Exception as err:  # no response_url in the payload: nobody left to tell
                log.warning("could not answer a settings press: %s", err)

    @app.view(blocks.SETTINGS_MODAL)
    async def submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        await acknowledge_once(
            ack,
            partial(_submit, service, body=body),
            what="settings form",
            on_failure={"response_action": "errors", "errors": {"approvers": NOTHING_CHANGED[:ERROR_LIMIT]}},
        )


def subcommand(service: ChannelSettingsService) -> SubcommandListener:
    """`/draft settings`: the listener :func:`handlers.commands.register` dispatches to."""

    async def settings(asked: Asked) -> dict[str, Any]:
        if asked.trigger_id is None:
            return {"text": COULD_NOT_OPEN}
        text = await open_form(
            service,
            asked.client,
            team=asked.team,
            channel=asked.channel,
            user=asked.user,
            trigger=asked.trigger_id,
        )
        return {"text": text} if text else {}

    return settings


async def open_form(
    service: ChannelSettingsService,
    client: AsyncWebClient,
    *,
    team: str,
    channel: str,
    user: str,
    trigger: str,
) -> str | None:
    """Open the form for ``user`` if they may change the channel's settings; otherwise why not."""
    refusal = await service.may_change(team, channel, user)
    if refusal is not None:
        return refusal.reason
    values = await service.values(team, channel)
    handles = {}
    if values is not None and values.approver_groups:
        handles = {gid: handle for handle, gid in (await service.directory.group_ids(team) or {}).items()}
    view = settings_modal(channel, values, providers=service.providers, group_handles=handles)
    try:
        await client.views_open(trigger_id=trigger, view=view)
    except Exception:
        log.exception("could not open the settings form for %s", user)
        return COULD_NOT_OPEN
    return None


async def _submit(service: ChannelSettingsService, ack: Answer, *, body: dict[str, Any]) -> None:
    view = as_dict(body.get("view"))
    team = slack_id(as_dict(body.get("team")).get("id")) or slack_id(as_dict(body.get("user")).get("team_id"))
    user = slack_id(as_dict(body.get("user")).get("id"))
    channel = slack_id(view.get("private_metadata"))
    if not (team and user and channel):
        await ack(response_action="errors", errors={"approvers": LOST_CONTEXT[:ERROR_LIMIT]})
        return
    form = read_form(as_dict(as_dict(view.get("state")).get("values")))
    outcome = await service.save(team, channel, user, form)
    if isinstance(outcome, Saved):
        await ack()
    elif isinstance(outcome, Invalid):
        await ack(response_action="errors", errors={k: v[:ERROR_LIMIT] for k, v in outcome.errors.items()})
    else:
        await ack(response_action="errors", errors={"approvers": outcome.reason[:ERROR_LIMIT]})


def read_form(values: dict[str, Any]) -> FormInput:
    """The form's state as typed and chosen; whatever is missing or of another shape is empty."""

    def field(block_id: str) -> dict[str, Any]:
        return as_dict(as_dict(values.get(block_id)).get("value"))

    def text(block_id: str) -> str:
        return clean_text(field(block_id).get("value"))

    def chosen(block_id: str) -> str:
        value = clean_text(as_dict(field(block_id).get("selected_option")).get("value"))
        return "" if value in (WORKSPACE, NO_DEFAULT) else value

    def users(block_id: str) -> tuple[str, ...]:
        picked = field(block_id).get("selected_users")
        return tuple(u for u in (slack_id(p) for p in (picked if isinstance(picked, list) else [])) if u)

    return FormInput(
        approvers=users("approvers"),
        approver_groups=text("approver_groups"),
        owners=users("owners"),
        required_approvals=text("required_approvals"),
        self_approval=chosen("self_approval"),
        default_destination=chosen("default_destination"),
        default_variants=text("default_variants"),
        vote_window=text("vote_window"),
        brand_notes=text("brand_notes"),
        provider=chosen("provider"),
        quality=chosen("quality"),
        monthly_budget_usd=text("monthly_budget_usd"),
    )
