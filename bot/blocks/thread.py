"""The messages in a draft's thread: each image (1K variant, 2K review version, 4K final and its other
shapes) with what its face offers, the notice of a lost image, and the reminder of a review."""

from __future__ import annotations

import math
from typing import Any

from bot.blocks.kit import (
    ALSO_AS,
    ALT_TEXT_LIMIT,
    APPROVE,
    IMAGE_EVENT,
    LOSS_EVENT,
    MORE_LIKE_THIS,
    REJECT,
    REMINDER_EVENT,
    REQUEST_CHANGES,
    RETRY,
    Block,
    actions,
    and_people,
    button,
    clip,
    context,
    escape,
    plain,
    quoted,
    section,
)
from bot.budgets import usd
from bot.deadlines import mentionable
from bot.destinations import by_key
from bot.faces import Face, Offer, shapes_left
from bot.publisher import DraftCard, ImageCard, ReminderCard, ThreadMessage
from bot.tiers import Tier
from bot.workflow import DraftStatus, VariantState


def image_metadata(image: ImageCard) -> dict[str, Any]:
    return {
        "event_type": IMAGE_EVENT,
        "event_payload": {
            "draft_id": image.draft_id,
            "tier": str(image.tier),
            "number": image.number,
            "version": image.version,
        },
    }


def image_title(image: ImageCard) -> str:
    if image.tier is Tier.EXPLORE:
        return f"Variant {image.number}"
    if image.tier is Tier.REVIEW:
        version = f" v{image.version}" if image.version > 1 else ""
        return f"2K review{version} of variant {image.number}"
    shape = f" as {image.shape}" if image.shape else ""
    return f"4K final of variant {image.number}{shape}"


def loss_metadata(message: ThreadMessage, draft_id: int) -> dict[str, Any]:
    return {
        "event_type": LOSS_EVENT,
        "event_payload": {
            "draft_id": draft_id,
            "tier": str(message.tier),
            "number": message.number,
            "version": message.version,
        },
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
    if image.round > 1 and image.tier is Tier.EXPLORE:
        label += f" · round {image.round}" + (f", from #{image.source}" if image.source else "")
    blocks: list[Block] = [section(f"{label} · {facts}")]
    if image.feedback:
        blocks.append(
            context(f":pencil2: Answers the change request on v{image.version - 1}: {quoted(image.feedback)}")
        )
    blocks.append(
        {
            "type": "image",
            "slack_file": {"id": file_id},
            "alt_text": clip(f"{image_title(image)}: {plain(draft.prompt)}", ALT_TEXT_LIMIT),
        }
    )
    if image.drifted and image.drift is not None:
        beside_1k = bool(image.compare_file) and (image.compare_label or "").startswith("1K")
        compare = " — compare below" if beside_1k else ""
        asked = " (the changes asked for count too)" if image.feedback else ""
        blocks.append(
            # rounded up, so a drift just past the threshold never reads as the threshold itself
            context(
                f":warning: Composition drifted from #{image.number}: {math.ceil(image.drift * 100)}%"
                f"{asked}{compare}."
            )
        )
    if image.compare_file:
        shown = image.compare_label or "before and after"
        blocks.append(
            {
                "type": "image",
                "slack_file": {"id": image.compare_file},
                "alt_text": clip(f"Side by side: {shown}", ALT_TEXT_LIMIT),
                "title": {"type": "plain_text", "text": clip(f"Side by side: {shown}", 150)},
            }
        )
    blocks.extend(_controls(draft, image, face, vote_emoji=vote_emoji, approve_emoji=approve_emoji))
    return blocks


def _controls(
    draft: DraftCard, image: ImageCard, face: Face, *, vote_emoji: str, approve_emoji: str
) -> list[Block]:
    """What the image's message offers now, or says happened (its face)."""
    notes = [escape(note) for note in image.notes][:1]
    offer, actor = face.offer, f"<@{face.actor}>" if face.actor else "an approver"
    more = button("More like this", MORE_LIKE_THIS, f"{draft.draft_id}:{image.number}")
    explore = actions(f"draft-{draft.draft_id}-more-{image.number}", more)
    if offer in (Offer.VOTE, Offer.VOTE_ONLY):
        vote = context(f"React with :{vote_emoji}: to vote for variant {image.number}.", *notes)
        return [vote, explore] if offer is Offer.VOTE else [vote]  # More like this while a round fits
    if offer is Offer.REJECTED_AT_REVIEW:
        why = f": {quoted(face.detail)}" if face.detail else ""
        line = f":x: Its 2K review was rejected by {actor}{why}. Votes for it still count."
        return [context(line, *notes), *([explore] if draft.explorable else [])]
    if offer is Offer.REVIEW:
        return _review_controls(draft, image, approve_emoji, notes)
    if offer is Offer.FINAL:
        made = context(f"Made with {escape(image.provider)} ({escape(image.model)}).", *notes)
        shapes = _also_as(draft) if draft.status is DraftStatus.FINAL else None
        return [made, shapes] if shapes else [made]
    if offer is Offer.SHAPE:
        return [
            context(f"Recomposed from the approved final for {escape(image.shape or 'this shape')}.", *notes)
        ]
    if offer is Offer.CHANGES_REQUESTED:
        return [context(f":pencil2: Changes requested by {actor}: {_newer_words(face.detail)}.", *notes)]
    if offer in (Offer.REJECTED, Offer.REJECTED_BACK):
        why = f": {quoted(face.detail)}" if face.detail else ""
        then = "No 4K will be made." if offer is Offer.REJECTED else "The draft went back to voting."
        return [context(f":x: Rejected by {actor}{why}. {then}", *notes)]
    if offer in (Offer.APPROVED, Offer.FINAL_BELOW) and len(draft.approvals) > 1:
        actor = and_people(draft.approvals)
    if offer in _OUTCOME:
        return [context(_OUTCOME[offer].format(actor=actor, winner=face.winner), *notes)]
    return []


def _newer_words(detail: str) -> str:
    """What became of the version that answers a change request (its face's detail: ``v2:posted``)."""
    newer, _, state = detail.partition(":")
    if not newer:
        return "the next version is being made"
    if state == VariantState.POSTED:
        return f"{newer} is below"
    if state in (VariantState.FAILED, VariantState.REFUSED):
        return f"{newer} could not be made (below)"
    return f"{newer} is being made"


def _approve_label(draft: DraftCard) -> str:
    """ "Approve for 4K", with the 4K's estimated cost when it costs anything: "Approve for 4K · ~$0.42"."""
    cost = draft.final_estimate_usd
    return f"Approve for 4K · ~{usd(cost)}" if cost > 0 else "Approve for 4K"


def _review_controls(draft: DraftCard, image: ImageCard, approve_emoji: str, notes: list[str]) -> list[Block]:
    react = f" (or react with :{approve_emoji}:)" if approve_emoji else ""
    needed = draft.required_approvals
    if needed > 1:
        so_far = f": {and_people(draft.approvals)}" if draft.approvals else ""
        count = f" It needs {needed} approvals; {len(draft.approvals)} of {needed} so far{so_far}."
    else:
        count = ""
    value = f"{draft.draft_id}:{image.number}.{image.version}"  # which review: see bot.reviews.parse_ref
    last = "" if draft.versions_left else " This is the last version this draft may have."
    changes = [button("Request changes", REQUEST_CHANGES, value)] if draft.versions_left else []
    return [
        context(f"Approvers: approve this review to make the 4K final{react}.{count}{last}", *notes),
        actions(
            f"draft-{draft.draft_id}-review-{image.number}-{image.version}",
            button(_approve_label(draft), APPROVE, value, "primary"),
            *changes,
            button("Reject", REJECT, value, "danger"),
        ),
    ]


def _also_as(draft: DraftCard) -> Block | None:
    """Also as…: the approved final in the other shapes the team publishes, one per ratio."""
    left = [d for key in shapes_left(draft) if (d := by_key(key)) is not None]
    if not left:
        return None
    options = [
        {
            "text": {"type": "plain_text", "text": clip(f"{d.ratio} · {d.name}", 75)},
            "value": f"{draft.draft_id}:{d.key}",
        }
        for d in left[:100]
    ]
    select = {
        "type": "static_select",
        "action_id": ALSO_AS,
        "placeholder": {"type": "plain_text", "text": "Also as…"},
        "options": options,
    }
    return {"type": "actions", "block_id": f"draft-{draft.draft_id}-also-as", "elements": [select]}


# What a message says once its controls no longer apply.
_OUTCOME = {
    Offer.PICKED: ":trophy: Voting closed: this variant went to 2K.",
    Offer.NOT_PICKED: "Voting closed: variant {winner} went to 2K.",
    Offer.VOTING_OVER: "Voting closed.",
    Offer.APPROVED: ":white_check_mark: Approved by {actor}: the 4K final is being made.",
    Offer.FINAL_BELOW: ":white_check_mark: Approved by {actor}: the 4K final is below.",
    Offer.FINAL_FAILED: ":white_check_mark: Approved by {actor}, but the 4K final could not be made (below).",
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
        return [section(f":arrows_counterclockwise: {loss_text(message, face)}")]
    if face.offer is Offer.RECOVERED:
        return [section(f":white_check_mark: {loss_text(message, face)}")]
    blocks = [section(f":warning: {loss_text(message, face)}")]
    if face.offer is Offer.RETRY_IMAGE:
        value = f"{draft.draft_id}:{message.number}"
        blocks.append(
            actions(f"draft-{draft.draft_id}-retry-{message.number}", button("Retry", RETRY, value))
        )
    elif face.offer is Offer.RETRY_DRAFT:
        blocks.append(
            actions(
                f"draft-{draft.draft_id}-retry-{message.number}", button("Retry", RETRY, str(draft.draft_id))
            )
        )
    elif message.tier is Tier.EXPLORE and message.state is VariantState.FAILED:
        blocks.append(context("Voting has closed, so it can no longer be made again."))
    return blocks


def reminder_metadata(draft_id: int, reminder: ReminderCard) -> dict[str, Any]:
    return {
        "event_type": REMINDER_EVENT,
        "event_payload": {"draft_id": draft_id, "number": reminder.number, "version": reminder.version},
    }


def reminder_text(draft: DraftCard, reminder: ReminderCard) -> str:
    """The reminder's words (mrkdwn): it mentions people by their ids only, never by anything typed."""
    who = " ".join(f"<@{user}>" for user in reminder.mention if mentionable(user))
    title = f"2K review v{reminder.version} of variant" if reminder.version > 1 else "2K review of variant"
    review = f"The {title} {reminder.number}"
    waited = f"has waited {escape(reminder.waited)} for a decision"
    if reminder.anyone:
        ask = "No approvers are set for this workspace, so any teammate can approve it"
    else:
        ask = "Please approve or reject it"
    return (
        f"{who + ': ' if who else ''}{review} {waited}. {ask}: the buttons are on the message "
        f"*{title} {reminder.number}* above in this thread."
    )


def reminder_blocks(draft: DraftCard, reminder: ReminderCard) -> list[Block]:
    return [section(f":alarm_clock: {reminder_text(draft, reminder)}")]
