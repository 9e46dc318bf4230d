"""Slack listeners: parse the payload, acknowledge fast, hand the work to :mod:`bot`.

Each module exposes ``register(app, runtime)``; :func:`register_all` wires them all.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from handlers import actions, commands, reactions, views

LISTENER_MODULES = (commands, reactions, actions, views)


def register_all(app: AsyncApp, runtime: Runtime) -> None:
    for module in LISTENER_MODULES:
        module.register(app, runtime)
