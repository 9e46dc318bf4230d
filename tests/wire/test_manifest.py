"""manifest.yml and the code agree: commands, events, interactivity, and the scopes of every Web API
method the bot actually calls during a whole draft."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot import blocks
from bot.config import Settings
from handlers import BOT_EVENTS, MESSAGE_SHORTCUTS, SLASH_COMMANDS
from tests.slack_harness import ALICE, BOB, CHANNEL, DAVE, running_bot, shown_tally, wait_for

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "manifest.yml").read_text())

# The bot token scope each Web API method needs (docs.slack.dev method pages). A method missing here
# fails the test: add it, with its scope, and add the scope to manifest.yml.
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.info": "files:read",
    "reactions.add": "reactions:write",
    "conversations.replies": "channels:history",
    "conversations.history": "channels:history",
    "users.info": "users:read",  # is the person a workspace admin (channel settings)
    "usergroups.list": "usergroups:read",
    "usergroups.users.list": "usergroups:read",
    "views.open": None,  # needs only the trigger_id of an interaction
    "views.publish": None,  # the App Home
    "chat.getPermalink": None,
}
EVENT_SCOPES = {
    "reaction_added": "reactions:read",
    "reaction_removed": "reactions:read",
    "app_home_opened": None,
    "app_uninstalled": None,
    "tokens_revoked": None,
}
NOT_API_CALLS = {"upload", "response_url", "url_private"}  # routes of the fake, not Web API methods


def bot_scopes() -> set[str]:
    return set(MANIFEST["oauth_config"]["scopes"]["bot"])


def test_manifest_fits_slacks_limits() -> None:
    info = MANIFEST["display_information"]
    assert 1 <= len(info["name"]) <= 35 and 1 <= len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000
    for command in MANIFEST["features"]["slash_commands"]:
        assert command["command"].startswith("/") and 2 <= len(command["command"]) <= 32
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True  # buttons and the /draft form


def test_commands_and_events_match_the_listeners() -> None:
    manifest_commands = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert manifest_commands == set(SLASH_COMMANDS)
    shortcuts = {s["callback_id"] for s in MANIFEST["features"]["shortcuts"] if s["type"] == "message"}
    assert shortcuts == set(MESSAGE_SHORTCUTS)
    assert set(MANIFEST["settings"]["event_subscriptions"]["bot_events"]) == set(BOT_EVENTS)
    assert "commands" in bot_scopes()
    for event in BOT_EVENTS:
        scope = EVENT_SCOPES[event]
        assert scope is None or scope in bot_scopes()
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True


def test_the_add_to_slack_link_asks_for_the_manifests_scopes() -> None:
    """Installs for many workspaces ask for exactly the scopes the manifest declares, and Slack is told
    where to send the installer back."""
    assert set(Settings().slack_scopes) == bot_scopes()
    redirects = MANIFEST["oauth_config"]["redirect_urls"]
    assert [url.endswith("/slack/oauth_redirect") for url in redirects] == [True]


async def test_listeners_are_registered_for_every_manifest_entry(tmp_path: Path) -> None:
    """Bolt answers 404 to a request no listener matches: every manifest entry must get a 200."""
    async with running_bot(tmp_path / "data") as wire:
        for command in MANIFEST["features"]["slash_commands"]:
            response = await wire.delivery.send_slash_command(
                ALICE, CHANNEL, "help", command=command["command"]
            )
            assert response.status_code == 200, command
        for event in MANIFEST["settings"]["event_subscriptions"]["bot_events"]:
            payload = {
                "type": event,
                "user": ALICE,
                "reaction": "+1",
                "item": {"type": "message", "channel": CHANNEL, "ts": "1.000001"},
                "event_ts": "1.1",
            }
            assert (await wire.delivery.send_event(payload)).status_code == 200, event
        message = await wire.fake.user_post_message(ALICE, CHANNEL, "no image here")
        for shortcut in MANIFEST["features"]["shortcuts"]:
            answer = await wire.delivery.send_message_shortcut(
                ALICE, CHANNEL, message.ts, shortcut["callback_id"]
            )
            assert answer.status_code == 200, shortcut
        # An event nobody listens to gets Bolt's 404, so the checks above can fail.
        probe = {
            "type": "app_mention",
            "user": ALICE,
            "text": "hi",
            "channel": CHANNEL,
            "ts": "1.2",
            "event_ts": "1.2",
        }
        assert (await wire.delivery.send_event(probe)).status_code == 404


async def test_every_web_api_call_is_covered_by_a_manifest_scope(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire:
        await wire.command(ALICE, "")  # opens the form
        await wire.command(ALICE, "a tin robot for product board --n 2")
        parent = await wait_for(lambda: wire.parents()[0], what="the parent")
        draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])
        variants = await wait_for(lambda: (v := wire.images(draft_id)) and len(v) == 2 and v, what="variants")
        await wire.react(BOB, variants[1])
        await wait_for(lambda: shown_tally(wire.parent(draft_id)) == {1: 1}, what="the vote")
        await wire.press(ALICE, wire.parent(draft_id), blocks.UPGRADE, str(draft_id))
        review = await wait_for(lambda: wire.images(draft_id, "2K").get(1), what="the review")
        await wire.react(BOB, review, "white_check_mark")  # not an approver: told privately
        await wire.press(DAVE, review, blocks.APPROVE, str(draft_id))
        await wait_for(lambda: wire.images(draft_id, "4K").get(1), what="the final")
        # The crash-recovery lookups run only on a retry; exercise them too.
        publisher: Any = wire.runtime.publisher
        async with wire.runtime.sessions() as session:
            from bot.cards import draft_card, image_card, thread_messages
            from bot.faces import face_of
            from storage import queries

            draft = await queries.get_draft(session, "T0PLAYGRND", draft_id)
            assert draft is not None
            card = await draft_card(session, draft)
            variant = await queries.get_variant(session, "T0PLAYGRND", draft_id, "1K", 1)
            assert variant is not None
            image = image_card(draft, variant)
            message = thread_messages(draft, variant)[0]
        assert (await publisher.post_parent(card, retry=True)).ts == parent.ts
        assert (
            await publisher.post_image(card, image, b"", face_of(card, message), retry=True)
        ).ts == variants[1].ts

        called = {method for method, _ in wire.fake.calls} - NOT_API_CALLS
        unknown = called - set(METHOD_SCOPES)
        assert not unknown, f"add these methods and their scopes to METHOD_SCOPES: {unknown}"
        needed = {METHOD_SCOPES[m] for m in called} - {None}
        assert needed <= bot_scopes(), needed - bot_scopes()
        assert {"chat.postMessage", "files.info", "reactions.add", "conversations.replies"} <= called
