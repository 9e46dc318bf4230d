"""Slack listeners: parse the payload, acknowledge fast, hand the work to the service they use.

Each module exposes ``register(app, <the service it uses>)``; :func:`register_all` wires them all and is
called by the composition root (:mod:`bot.runtime`) only. Helpers every listener uses live in
:mod:`handlers.shared`.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import blocks
from bot.drafts import DraftService
from bot.spending import Spend
from handlers import actions, commands, reactions, reviews, rounds, shortcuts, spend_report, views

SLASH_COMMANDS = commands.COMMANDS
MESSAGE_SHORTCUTS = (blocks.DRAFT_FROM_IMAGE,)
BOT_EVENTS = reactions.EVENTS


def register_all(
    app: AsyncApp, drafts: DraftService, *, default_variants: int, spend: Spend | None = None
) -> None:
    subcommands = {}
    if spend is not None:
        subcommands["spend"] = spend_report.listener(spend)
    commands.register(app, drafts.intake, default_variants=default_variants, subcommands=subcommands)
    views.register(app, drafts.intake)
    reactions.register(app, drafts.reactions)
    actions.register(app, drafts.decisions)
    reviews.register(app, drafts.decisions)
    rounds.register(app, drafts.rounds)
    shortcuts.register(app, drafts.uploads, default_variants=default_variants)
