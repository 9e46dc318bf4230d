"""``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``: the bot's messages; ``chat.getPermalink``:
a link to one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.slack.api.params import Method, Params, bot_in
from fakes.slack.state import JSON

if TYPE_CHECKING:
    from fakes.slack.app import FakeSlack


async def post_message(fake: FakeSlack, p: Params) -> JSON:
    state = fake.state
    channel = state.resolve_channel(p.ref("channel"))
    bot_in(fake, channel)
    message = state.post_message(
        channel.id,
        user=state.bot.id,
        text=p.text("text"),
        blocks=p.blocks(),
        attachments=p.attachments(),
        metadata=p.metadata(),
        thread_ts=p.ref("thread_ts"),
        reply_broadcast=p.flag("reply_broadcast"),
    )
    return {"channel": channel.id, "ts": message.ts, "message": state.message_json(message)}


async def update(fake: FakeSlack, p: Params) -> JSON:
    state = fake.state
    channel = state.resolve_channel(p.ref("channel"))
    message = state.update_message(
        channel.id,
        p.ref("ts"),
        by_user=state.bot.id,
        text=p.text("text"),
        blocks=p.blocks(),
        attachments=p.attachments(),
        metadata=p.metadata(),
    )
    return {
        "channel": channel.id,
        "ts": message.ts,
        "text": message.text,
        "message": state.message_json(message),
    }


async def post_ephemeral(fake: FakeSlack, p: Params) -> JSON:
    state = fake.state
    channel = state.resolve_channel(p.ref("channel"))
    bot_in(fake, channel)
    ephemeral = state.post_ephemeral(
        channel.id,
        p.ref("user") or "",
        text=p.text("text"),
        blocks=p.blocks(),
        attachments=p.attachments(),
        thread_ts=p.ref("thread_ts"),
    )
    return {"message_ts": ephemeral.ts}


async def get_permalink(fake: FakeSlack, p: Params) -> JSON:
    """A message's link: ``https://<domain>.slack.com/archives/<channel>/p<ts without the dot>``, and for a
    reply in a thread ``?thread_ts=<parent>&cid=<channel>``."""
    state = fake.state
    channel = state.resolve_channel(p.ref("channel"))
    message = state.get_message(channel.id, p.ref("message_ts"))
    link = f"https://{state.team.domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
    if message.thread_ts and message.thread_ts != message.ts:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}


METHODS: dict[str, Method] = {
    "chat.getPermalink": get_permalink,
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.postEphemeral": post_ephemeral,
}
