"""The draft's parent message: status, prompt, rounds, the votes, the tie choice and the draft's buttons."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.blocks.kit import (
    ACTIONS_LIMIT,
    ALT_TEXT_LIMIT,
    CANCEL,
    CHOOSE_TIED,
    DRAFT_EVENT,
    EDIT_PROMPT,
    NEW_ROUND,
    RETRY,
    SECTION_LIMIT,
    UPGRADE,
    Block,
    actions,
    and_list,
    button,
    clip,
    context,
    escape,
    quote,
    quoted,
    section,
    vote_count,
)
from bot.publisher import DraftCard
from bot.workflow import VOTES_COUNT, DraftStatus, Tie, pick_winner

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
        section(quote(clip(card.prompt, 2800))),
        context(
            f"*{escape(card.destination)}* · {card.ratio} · requested by <@{card.requester}>",
        ),
    ]
    if card.brand_notes:  # shown, so nobody is surprised by what every prompt here carries
        blocks.append(context(f":art: Brand notes: {escape(card.brand_notes)}"))
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
    if card.status is DraftStatus.REVIEWING and (card.review_version or 1) > 1:
        line += f" · v{card.review_version}"
    if card.status is DraftStatus.REVIEWING and card.required_approvals > 1:
        line += f" · {len(card.approvals)} of {card.required_approvals} approvals"
    if card.status in VOTES_COUNT or card.unavailable:
        line += f" · {card.progress}"
    blocks.append(section(line))
    for number, (who, why) in sorted(card.rejected.items()):
        because = f": {quoted(why)}" if why else ""
        blocks.append(
            context(
                f":x: Variant {number}'s 2K review was rejected by <@{who}>{because}. Voting is open "
                "again; the upgrade takes the most-voted of the others."
            )
        )
    if card.status in VOTES_COUNT and card.vote_deadline is not None:
        blocks.append(context(deadline_words(card)))
    if (card.status in VOTES_COUNT and card.ready) or any(card.tally.values()):
        blocks.append(section(vote_summary(card)))
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
    if card.status is DraftStatus.REJECTED and card.decided_by:
        because = f": {quoted(card.decision_reason)}" if card.decision_reason else "."
        blocks.append(context(f":x: Rejected by <@{card.decided_by}>{because}"))
    if card.status is DraftStatus.CANCELLED and card.decided_by:
        blocks.append(context(f"Cancelled by <@{card.decided_by}>. The images already made stay below."))
    if card.failure_reason and card.status is DraftStatus.FAILED:
        blocks.append(context(f":warning: {escape(card.failure_reason)}"))
    for hint in card.hints:
        blocks.append(context(f":bulb: {escape(hint)}"))
    if card.status is DraftStatus.FAILED:
        blocks.append(actions(f"draft-{card.draft_id}-retry", button("Retry", RETRY, str(card.draft_id))))
    tied = offered_tie(card)
    if tied:
        each = vote_count(card.tally[tied[0]]) + " each" if card.tally.get(tied[0]) else "no votes yet"
        blocks.append(
            section(
                f"<@{card.requester}>, variants {and_list(tied)} are tied ({each}). Which one goes to 2K?"
            )
        )
        for start in range(0, len(tied), ACTIONS_LIMIT):  # Slack's 25 elements per actions block
            blocks.append(
                actions(
                    f"draft-{card.draft_id}-tie-{start}",
                    *(
                        button(f"Variant {n}", CHOOSE_TIED, f"{card.draft_id}:{n}")
                        for n in tied[start : start + ACTIONS_LIMIT]
                    ),
                )
            )
    if card.status in VOTES_COUNT:
        upgrade = [button("Upgrade winner to 2K", UPGRADE, str(card.draft_id), "primary")]
        blocks.append(
            actions(
                f"draft-{card.draft_id}-explore",
                *(upgrade if card.status is DraftStatus.VOTING else []),
                *(_round_buttons(card.draft_id) if card.explorable else []),
                _cancel_button(card.draft_id),
            )
        )
    return blocks


def _round_buttons(draft_id: int) -> list[Block]:
    return [
        button("New round", NEW_ROUND, str(draft_id)),
        button("Edit prompt", EDIT_PROMPT, str(draft_id)),
    ]


def _cancel_button(draft_id: int) -> Block:
    cancel = button("Cancel draft", CANCEL, str(draft_id), "danger")
    cancel["confirm"] = {
        "title": {"type": "plain_text", "text": "Cancel this draft?"},
        "text": {
            "type": "mrkdwn",
            "text": "No more variants will be made and voting stops. The images already made stay.",
        },
        "confirm": {"type": "plain_text", "text": "Cancel draft"},
        "deny": {"type": "plain_text", "text": "Keep it"},
        "style": "danger",
    }
    return cancel


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
    running = {n: c for n, c in counts.items() if n not in card.rejected}  # a rejected one can't win
    top = max(running.values(), default=0)
    leaders = sorted(n for n, c in running.items() if c == top)
    if card.status not in VOTES_COUNT:
        head = "*Votes:* closed."
    elif not running:
        head = "*Votes:* none yet for the variants still in the running."
    elif len(leaders) == 1:
        made = card.round_of(leaders[0])
        where = f" (round {made.number})" if made and len(card.rounds) > 1 else ""
        head = f"*Votes:* variant {leaders[0]}{where} leads with {vote_count(top)}."
    else:
        head = f"*Votes:* variants {and_list(leaders)} are tied with {vote_count(top)} each."
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
            lines.append(f"…and {len(rest)} more variants with {vote_count(sum(c for _, c in rest))}")
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
    eligible = [n for n in card.posted if n not in card.rejected]
    if not any(n in card.tally for n in eligible):
        return ()
    result = pick_winner(card.tally, eligible)
    return result.variants if isinstance(result, Tie) else ()


def _winner_words(card: DraftCard) -> str:
    if card.winner_picked and card.upgraded_by:
        return f"Variant {card.winner} went to 2K: picked by <@{card.upgraded_by}> from a tie."
    votes = card.tally.get(card.winner or 0, 0)
    if card.closed_by_deadline and card.vote_deadline is not None:
        return (
            f"Voting closed at its deadline, {slack_date(card.vote_deadline)}: "
            f"variant {card.winner} went to 2K with {vote_count(votes)}."
        )
    return f"Variant {card.winner} went to 2K with {vote_count(votes)}."


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


def draft_metadata(draft_id: int) -> dict[str, Any]:
    return {"event_type": DRAFT_EVENT, "event_payload": {"draft_id": draft_id}}


def tie_text(draft: DraftCard, tied: tuple[int, ...], votes: int) -> str:
    """The requester's word that a tie waits for them; the choice itself is on the parent."""
    each = f"{vote_count(votes)} each" if votes else "no votes yet"
    return (
        f"<@{draft.requester}> variants {and_list(tied)} are tied ({each}). Choose the one that goes to 2K "
        "with the buttons on the draft's message at the top of this thread."
    )
