"""Block Kit builders: pure functions from cards to Slack message and view payloads. No API calls.

Every piece of user text goes through :func:`escape`, so a prompt containing ``<!channel>`` or
``<@U123>`` is shown as text and never becomes a live mention.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.deadlines import mentionable
from bot.faces import Face, Offer
from bot.publisher import DraftCard, ImageCard, ReminderCard, ThreadMessage
from bot.tiers import Tier
from bot.workflow import VOTES_COUNT, DraftStatus, Tie, VariantState, pick_winner

Block = dict[str, Any]

# action_ids and callback_ids: the contract between these builders and handlers/.
UPGRADE = "draft_upgrade"
CHOOSE_TIED = "draft_choose_tied"
APPROVE = "draft_approve"
REJECT = "draft_reject"
RETRY = "draft_retry"
CANCEL = "draft_cancel"
MORE_LIKE_THIS = "draft_more_like_this"
NEW_ROUND = "draft_new_round"
EDIT_PROMPT = "draft_edit_prompt"
DRAFT_FROM_IMAGE = "draft_from_image"  # the message shortcut
DRAFT_MODAL = "draft_modal"  # the callback ids of bot/modals.py's forms
EDIT_MODAL = "draft_edit_modal"

# Slack message metadata that names what a message shows, so a retried job can find its own post.
DRAFT_EVENT = "draftbot_draft"
IMAGE_EVENT = "draftbot_image"
LOSS_EVENT = "draftbot_loss"  # the notice of a lost image
REMINDER_EVENT = "draftbot_reminder"  # the reminder that a 2K review waits for a decision

SECTION_LIMIT = 3000  # characters of text in one section block
ACTIONS_LIMIT = 25  # elements in one actions block
ALT_TEXT_LIMIT = 2000


def escape(text: str) -> str:
    """Slack's three control characters, so user text is shown, never interpreted."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Slack's markup only: <!special>, <@user>, <#channel>, <scheme:link>, each with an optional |label.
_MARKUP = re.compile(r"<([!@#]|(?=[a-z][a-z0-9+.-]*:))([^<>|\s]+)(?:\|([^<>]*))?>", re.IGNORECASE)


def plain(text: str) -> str:
    """User text for plain-text fields (alt text): Slack markup spelled out in words, no control syntax.

    ``<!channel>`` → ``@channel``, ``<@U1>`` → ``@U1``, ``<#C1|general>`` → ``#general``,
    ``<url|label>`` → ``label``; any other angle bracket becomes a look-alike.
    """

    def words(match: re.Match[str]) -> str:
        sigil, target, label = match[1], match[2], match[3]
        shown = label or target
        return {"!": "@", "@": "@", "#": "#"}.get(sigil, "") + shown.lstrip("!@#")

    return _MARKUP.sub(words, text).replace("<", "‹").replace(">", "›")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in escape(text).splitlines() or [""])


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(t, SECTION_LIMIT)} for t in texts],
    }


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id}
    button["value"] = value
    if style:
        button["style"] = style
    return button


_STATUS = {
    DraftStatus.GENERATING: ":hourglass_flowing_sand: Generating",
    DraftStatus.VOTING: ":ballot_box_with_ballot: Voting: react with :+1: on your favourite",
    DraftStatus.REVIEWING: ":mag: In review at 2K",
    DraftStatus.APPROVED: ":white_check_mark: Approved, making the 4K final",
    DraftStatus.FINAL: ":tada: Final at 4K",
    DraftStatus.REJECTED: ":x: Rejected",
    DraftStatus.FAILED: ":warning: Failed",
    DraftStatus.CANCELLED: ":no_entry_sign: Cancelled",
}


def parent_text(card: DraftCard) -> str:
    """The notification / fallback text of the parent message."""
    return f"Draft #{card.draft_id} for {escape(card.destination)} ({card.ratio}): {_STATUS[card.status]}"


def parent_blocks(card: DraftCard, *, vote_emoji: str = "+1") -> list[Block]:
    status = _STATUS[card.status].replace(":+1:", f":{vote_emoji}:")
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Draft #{card.draft_id}"}},
        _section(_quote(clip(card.prompt, 2800))),
        context(
            f"*{escape(card.destination)}* · {card.ratio} · requested by <@{card.requester}>",
        ),
    ]
    if len(card.rounds) > 1:
        blocks.append(context(_rounds_words(card)))
    sheet = next((r for r in reversed(card.rounds) if r.sheet_file), None)
    if sheet is not None:
        shown = ", ".join(f"#{n}" for n in sheet.sheet_numbers)
        blocks.append(
            {
                "type": "image",
                "slack_file": {"id": sheet.sheet_file},
                "alt_text": clip(f"Round {sheet.number} side by side: {shown}", ALT_TEXT_LIMIT),
            }
        )
    line = f"*{status}*"
    if card.status in VOTES_COUNT or card.unavailable:
        line += f" · {card.progress}"
    blocks.append(_section(line))
    if card.status in VOTES_COUNT and card.vote_deadline is not None:
        blocks.append(context(deadline_words(card)))
    if (card.status in VOTES_COUNT and card.ready) or any(card.tally.values()):
        blocks.append(_section(vote_summary(card)))
        if card.status in VOTES_COUNT:
            blocks.append(
                context(
                    f"One vote per person: your latest :{vote_emoji}: counts. These counts are the votes; "
                    f"the first :{vote_emoji}: under each variant is the bot's, there to make voting one "
                    "click, and never counts."
                )
            )
    if card.winner is not None and card.status not in VOTES_COUNT:
        blocks.append(context(f":trophy: {_winner_words(card)}"))
    if card.status is DraftStatus.CANCELLED and card.decided_by:
        blocks.append(context(f"Cancelled by <@{card.decided_by}>. The images already made stay below."))
    if card.failure_reason and card.status is DraftStatus.FAILED:
        blocks.append(context(f":warning: {escape(card.failure_reason)}"))
    for hint in card.hints:
        blocks.append(context(f":bulb: {escape(hint)}"))
    if card.status is DraftStatus.FAILED:
        blocks.append(_actions(f"draft-{card.draft_id}-retry", _button("Retry", RETRY, str(card.draft_id))))
    tied = offered_tie(card)
    if tied:
        each = _votes(card.tally[tied[0]]) + " each" if card.tally.get(tied[0]) else "no votes yet"
        blocks.append(
            _section(f"<@{card.requester}>, variants {_and(tied)} are tied ({each}). Which one goes to 2K?")
        )
        for start in range(0, len(tied), ACTIONS_LIMIT):  # Slack's 25 elements per actions block
            blocks.append(
                _actions(
                    f"draft-{card.draft_id}-tie-{start}",
                    *(
                        _button(f"Variant {n}", CHOOSE_TIED, f"{card.draft_id}:{n}")
                        for n in tied[start : start + ACTIONS_LIMIT]
                    ),
                )
            )
    if card.status in VOTES_COUNT:
        upgrade = [_button("Upgrade winner to 2K", UPGRADE, str(card.draft_id), "primary")]
        blocks.append(
            _actions(
                f"draft-{card.draft_id}-explore",
                *(upgrade if card.status is DraftStatus.VOTING else []),
                *(_round_buttons(card.draft_id) if card.explorable else []),
                _cancel_button(card.draft_id),
            )
        )
    return blocks


def _round_buttons(draft_id: int) -> list[Block]:
    return [
        _button("New round", NEW_ROUND, str(draft_id)),
        _button("Edit prompt", EDIT_PROMPT, str(draft_id)),
    ]


def _cancel_button(draft_id: int) -> Block:
    button = _button("Cancel draft", CANCEL, str(draft_id), "danger")
    button["confirm"] = {
        "title": {"type": "plain_text", "text": "Cancel this draft?"},
        "text": {
            "type": "mrkdwn",
            "text": "No more variants will be made and voting stops. The images already made stay.",
        },
        "confirm": {"type": "plain_text", "text": "Cancel draft"},
        "deny": {"type": "plain_text", "text": "Keep it"},
        "style": "danger",
    }
    return button


_REASONS = {
    "draft": "the first",
    "more_like_this": "more like #{source}",
    "new_round": "new seeds",
    "edit_prompt": "an edited prompt",
}


def _rounds_words(card: DraftCard) -> str:
    """The rounds so far, latest first, with who started each and the prompts they were made with."""
    latest = card.rounds[-1]
    why = _REASONS.get(latest.reason, latest.reason).format(source=latest.source)
    span = f"#{latest.first}–#{latest.first + latest.size - 1}"
    lines = [f"Round {latest.number}: {span}, {why}, by <@{latest.started_by}>"]
    for earlier in reversed(card.rounds[:-1]):
        why = _REASONS.get(earlier.reason, earlier.reason).format(source=earlier.source)
        span = f"#{earlier.first}–#{earlier.first + earlier.size - 1}"
        prompt = "" if earlier.prompt == latest.prompt else f": “{escape(clip(earlier.prompt, 120))}”"
        lines.append(f"Round {earlier.number}: {span}, {why}{prompt}")
    return clip("\n".join(lines), SECTION_LIMIT)


VOTERS_SHOWN = 5  # names per variant on the parent; more are counted


def vote_summary(card: DraftCard) -> str:
    """The tally, the leader and who voted for what: the truth about the votes, on the parent."""
    counts = {n: c for n, c in card.tally.items() if c}
    if not counts:
        return "*Votes:* none yet."
    top = max(counts.values())
    leaders = sorted(n for n, c in counts.items() if c == top)
    if card.status not in VOTES_COUNT:
        head = "*Votes:* closed."
    elif len(leaders) == 1:
        made = card.round_of(leaders[0])
        where = f" (round {made.number})" if made and len(card.rounds) > 1 else ""
        head = f"*Votes:* variant {leaders[0]}{where} leads with {_votes(top)}."
    else:
        head = f"*Votes:* variants {_and(leaders)} are tied with {_votes(top)} each."
    voters: dict[int, list[str]] = {}
    for voter, number in sorted(card.votes.items()):
        voters.setdefault(number, []).append(voter)
    lines, used = [head], len(head)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    for shown, (number, count) in enumerate(ranked):
        names = [f"<@{v}>" for v in voters.get(number, [])[:VOTERS_SHOWN]]
        more = count - len(names)
        if more > 0:
            names.append(f"{more} more")
        line = f"• #{number}: {count} · " + ", ".join(names)
        if used + len(line) + 1 > SECTION_LIMIT - 80:  # whole lines only, and room to say what is left
            rest = ranked[shown:]
            lines.append(f"…and {len(rest)} more variants with {_votes(sum(c for _, c in rest))}")
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def offered_tie(card: DraftCard) -> tuple[int, ...]:
    """The tied variants the requester is asked to choose among, while that choice can be made.

    As :func:`bot.workflow.decide_tie_break` computes it: the leaders among the posted variants now, so the
    buttons change as votes move and vanish when the tie is broken."""
    if not card.tie_asked or card.status is not DraftStatus.VOTING:
        return ()
    if not any(n in card.tally for n in card.posted):
        return ()
    result = pick_winner(card.tally, card.posted)
    return result.variants if isinstance(result, Tie) else ()


def _winner_words(card: DraftCard) -> str:
    if card.winner_picked and card.upgraded_by:
        return f"Variant {card.winner} went to 2K: picked by <@{card.upgraded_by}> from a tie."
    votes = card.tally.get(card.winner or 0, 0)
    if card.closed_by_deadline and card.vote_deadline is not None:
        return (
            f"Voting closed at its deadline, {slack_date(card.vote_deadline)}: "
            f"variant {card.winner} went to 2K with {_votes(votes)}."
        )
    return f"Variant {card.winner} went to 2K with {_votes(votes)}."


def slack_date(at: datetime) -> str:
    """A time every reader sees in their own time zone ("Dec 2 at 2:00 PM"), with UTC as the fallback."""
    at = at.astimezone(UTC)
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


def deadline_words(card: DraftCard) -> str:
    """While voting, when it closes by itself (a tie then goes to the requester, as with the button)."""
    if card.vote_deadline is None:
        return ""
    when = slack_date(card.vote_deadline)
    if card.tie_asked:
        return f":alarm_clock: Voting deadline: {when}. The tie waits for <@{card.requester}>."
    then = "the most-voted variant then goes to 2K (ties go to the requester)"
    return f":alarm_clock: Voting closes {when}: {then}."


def _votes(count: int) -> str:
    return f"{count} vote{'s' if count != 1 else ''}"


def _and(numbers: tuple[int, ...] | list[int]) -> str:
    items = [str(n) for n in numbers]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def _actions(block_id: str, *buttons: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(buttons)}


def image_metadata(image: ImageCard) -> dict[str, Any]:
    return {
        "event_type": IMAGE_EVENT,
        "event_payload": {"draft_id": image.draft_id, "tier": str(image.tier), "number": image.number},
    }


def draft_metadata(draft_id: int) -> dict[str, Any]:
    return {"event_type": DRAFT_EVENT, "event_payload": {"draft_id": draft_id}}


def image_title(image: ImageCard) -> str:
    return {
        Tier.EXPLORE: f"Variant {image.number}",
        Tier.REVIEW: f"2K review of variant {image.number}",
        Tier.FINAL: f"4K final of variant {image.number}",
    }[image.tier]


def loss_metadata(message: ThreadMessage, draft_id: int) -> dict[str, Any]:
    return {
        "event_type": LOSS_EVENT,
        "event_payload": {"draft_id": draft_id, "tier": str(message.tier), "number": message.number},
    }


def image_blocks(
    draft: DraftCard,
    image: ImageCard,
    file_id: str,
    face: Face,
    *,
    vote_emoji: str = "+1",
    approve_emoji: str = "",
) -> list[Block]:
    kb = max(1, round(image.bytes / 1024))
    facts = f"{image.tier} · {image.size.width}×{image.size.height} · {kb:,} KB · seed {image.seed}"
    label = f"*{image_title(image)}*"
    if image.round > 1:
        label += f" · round {image.round}" + (f", from #{image.source}" if image.source else "")
    blocks: list[Block] = [_section(f"{label} · {facts}")]
    blocks.append(
        {
            "type": "image",
            "slack_file": {"id": file_id},
            "alt_text": clip(f"{image_title(image)}: {plain(draft.prompt)}", ALT_TEXT_LIMIT),
        }
    )
    notes = [escape(note) for note in image.notes][:1]
    offer, actor = face.offer, f"<@{face.actor}>" if face.actor else "an approver"
    if offer in (Offer.VOTE, Offer.VOTE_ONLY):
        blocks.append(context(f"React with :{vote_emoji}: to vote for variant {image.number}.", *notes))
        if offer is Offer.VOTE:  # while another round fits the draft
            more = _button("More like this", MORE_LIKE_THIS, f"{draft.draft_id}:{image.number}")
            blocks.append(_actions(f"draft-{draft.draft_id}-more-{image.number}", more))
    elif offer is Offer.REVIEW:
        react = f" (or react with :{approve_emoji}:)" if approve_emoji else ""
        blocks.append(context(f"Approvers: approve this review to make the 4K final{react}.", *notes))
        blocks.append(
            _actions(
                f"draft-{draft.draft_id}-review",
                _button("Approve for 4K", APPROVE, str(draft.draft_id), "primary"),
                _button("Reject", REJECT, str(draft.draft_id), "danger"),
            )
        )
    elif offer is Offer.FINAL:
        blocks.append(context(f"Made with {escape(image.provider)} ({escape(image.model)}).", *notes))
    elif offer in _OUTCOME:
        blocks.append(context(_OUTCOME[offer].format(actor=actor, winner=face.winner), *notes))
    return blocks


# What a message says once its controls no longer apply.
_OUTCOME = {
    Offer.PICKED: ":trophy: Voting closed: this variant went to 2K.",
    Offer.NOT_PICKED: "Voting closed: variant {winner} went to 2K.",
    Offer.VOTING_OVER: "Voting closed.",
    Offer.APPROVED: ":white_check_mark: Approved by {actor}: the 4K final is being made.",
    Offer.FINAL_BELOW: ":white_check_mark: Approved by {actor}: the 4K final is below.",
    Offer.FINAL_FAILED: ":white_check_mark: Approved by {actor}, but the 4K final could not be made (below).",
    Offer.REJECTED: ":x: Rejected by {actor}. No 4K will be made.",
    Offer.REVIEW_OVER: "The review is closed.",
}


def loss_text(message: ThreadMessage, face: Face) -> str:
    """The notice's words (mrkdwn, user text escaped); also its notification text."""
    what = message.tier.image_name(message.number)
    if face.offer is Offer.RETRYING:
        return f"Making {what[0].lower() + what[1:]} again…"
    if face.offer is Offer.RECOVERED:
        return f"{what} was made on another try (below)."
    return escape(message.reason or f"{what} could not be made.")


def loss_blocks(draft: DraftCard, message: ThreadMessage, face: Face) -> list[Block]:
    """The notice of a lost image: why, in words, and Retry where it can work."""
    if face.offer is Offer.RETRYING:
        return [_section(f":arrows_counterclockwise: {loss_text(message, face)}")]
    if face.offer is Offer.RECOVERED:
        return [_section(f":white_check_mark: {loss_text(message, face)}")]
    blocks = [_section(f":warning: {loss_text(message, face)}")]
    if face.offer is Offer.RETRY_IMAGE:
        value = f"{draft.draft_id}:{message.number}"
        blocks.append(
            _actions(f"draft-{draft.draft_id}-retry-{message.number}", _button("Retry", RETRY, value))
        )
    elif face.offer is Offer.RETRY_DRAFT:
        blocks.append(
            _actions(
                f"draft-{draft.draft_id}-retry-{message.number}", _button("Retry", RETRY, str(draft.draft_id))
            )
        )
    elif message.tier is Tier.EXPLORE and message.state is VariantState.FAILED:
        blocks.append(context("Voting has closed, so it can no longer be made again."))
    return blocks


def tie_text(draft: DraftCard, tied: tuple[int, ...], votes: int) -> str:
    """The requester's word that a tie waits for them; the choice itself is on the parent."""
    each = f"{_votes(votes)} each" if votes else "no votes yet"
    return (
        f"<@{draft.requester}> variants {_and(tied)} are tied ({each}). Choose the one that goes to 2K "
        "with the buttons on the draft's message at the top of this thread."
    )


def reminder_metadata(draft_id: int, reminder: ReminderCard) -> dict[str, Any]:
    return {
        "event_type": REMINDER_EVENT,
        "event_payload": {"draft_id": draft_id, "number": reminder.number, "version": reminder.version},
    }


def reminder_text(draft: DraftCard, reminder: ReminderCard) -> str:
    """The reminder's words (mrkdwn): it mentions people by their ids only, never by anything typed."""
    who = " ".join(f"<@{user}>" for user in reminder.mention if mentionable(user))
    review = f"The 2K review of variant {reminder.number}"
    if reminder.version > 1:
        review += f" (version {reminder.version})"
    waited = f"has waited {escape(reminder.waited)} for a decision"
    if reminder.anyone:
        ask = "No approvers are set for this workspace, so any teammate can approve it"
    else:
        ask = "Please approve or reject it"
    return (
        f"{who + ': ' if who else ''}{review} {waited}. {ask}: the buttons are on the message "
        f"*2K review of variant {reminder.number}* above in this thread."
    )


def reminder_blocks(draft: DraftCard, reminder: ReminderCard) -> list[Block]:
    return [_section(f":alarm_clock: {reminder_text(draft, reminder)}")]


def text_blocks(text: str) -> list[Block]:
    """Long text as sections within Slack's per-block limit, split at paragraph breaks."""
    blocks: list[Block] = []
    chunk = ""
    for paragraph in text.split("\n\n"):
        candidate = f"{chunk}\n\n{paragraph}" if chunk else paragraph
        if len(candidate) > SECTION_LIMIT and chunk:
            blocks.append(_section(chunk))
            candidate = paragraph
        chunk = candidate
    if chunk:
        blocks.append(_section(chunk))
    return blocks
