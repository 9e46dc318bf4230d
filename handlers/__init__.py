"""Slack listeners: parse the payload, acknowledge fast, hand the work to the service they use.

Each module exposes ``register(app, <the service it uses>)``; :func:`register_all` wires them all and is
called by the composition root (:mod:`bot.runtime`) only. Helpers every listener uses live in
:mod:`handlers.shared`.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import blocks
from bot.drafts import DraftService
from bot.drafts.settings import ChannelSettingsService
from handlers import actions, commands, reactions, reviews, rounds, settings, shortcuts, views

SLASH_COMMANDS = commands.COMMANDS
MESSAGE_SHORTCUTS = (blocks.DRAFT_FROM_IMAGE,)
BOT_EVENTS = reactions.EVENTS


def register_all(
    app: AsyncApp,
    drafts: DraftService,
    *,
    default_variants: int,
    channel_settings: ChannelSettingsService | None = None,
) -> None:
    subcommands: dict[str, commands.SubcommandListener] = {}
    if channel_settings is not None:
        subcommands["settings"] = settings.subcommand(channel_settings)
        settings.register(app, channel_settings)
    commands.register(app, drafts.intake, default_variants=default_variants, subcommands=subcommands)
    views.register(app, drafts.intake)
    reactions.register(app, drafts.reactions)
    actions.register(app, drafts.decisions)
    reviews.register(app, drafts.decisions)
    rounds.register(app, drafts.rounds)
    shortcuts.register(app, drafts.uploads, default_variants=default_variants)
