"""Slack listeners: parse the payload, acknowledge fast, hand the work to the service they use.

Each module exposes ``register(app, <the service it uses>)``; :func:`register_all` wires them all and is
called by the composition root (:mod:`bot.runtime`) only. Helpers every listener uses live in
:mod:`handlers.shared`.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import blocks
from bot.drafts import DraftService
from bot.drafts.home import Homes
from bot.drafts.reports import Reports
from bot.drafts.settings import ChannelSettingsService
from bot.installs import Installations
from bot.spending import Spend
from handlers import (
    actions,
    commands,
    home,
    installs,
    reactions,
    reviews,
    rounds,
    settings,
    shortcuts,
    spend_report,
    views,
)
from handlers import reports as reports_module

SLASH_COMMANDS = commands.COMMANDS
MESSAGE_SHORTCUTS = (blocks.DRAFT_FROM_IMAGE,)
BOT_EVENTS = reactions.EVENTS + home.EVENTS + installs.EVENTS


def register_all(
    app: AsyncApp,
    drafts: DraftService,
    *,
    default_variants: int,
    homes: Homes | None = None,
    reports: Reports | None = None,
    channel_settings: ChannelSettingsService | None = None,
    spend: Spend | None = None,
    installations: Installations | None = None,
) -> None:
    subcommands: dict[str, commands.SubcommandListener] = (
        dict(reports_module.subcommands(reports)) if reports else {}
    )
    if spend is not None:
        subcommands["spend"] = spend_report.listener(spend)
    if channel_settings is not None:
        subcommands["settings"] = settings.subcommand(channel_settings)
        settings.register(app, channel_settings)
    commands.register(app, drafts.intake, default_variants=default_variants, subcommands=subcommands)
    home.register(app, homes)
    views.register(app, drafts.intake)
    reactions.register(app, drafts.reactions)
    actions.register(app, drafts.decisions, drafts.retries, homes=homes)
    reviews.register(app, drafts.decisions, homes=homes)
    rounds.register(app, drafts.rounds)
    shortcuts.register(app, drafts.uploads, default_variants=default_variants)
    if installations is not None:
        installs.register(app, installations)
