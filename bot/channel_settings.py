"""A channel's settings as plain values: what the form's fields mean, whether they are valid, who may
change them, and what they make of the workspace's policy. No Slack, no SQL: the service reads and writes
them (:mod:`bot.drafts.settings`), the form shows them (:mod:`bot.settings_form`)."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.command import MAX_VARIANTS, MIN_VARIANTS
from bot.destinations import CATALOG
from bot.durations import parse_duration
from bot.errors import UserInputError
from bot.workflow import Policy, Refusal

MAX_BRAND_NOTES = 500
MAX_APPROVALS = 10
MAX_BUDGET_USD = 1_000_000.0
QUALITIES = ("low", "medium", "high", "auto")  # OpenAI's; Gemini and the local renderer have one
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,20}")
_GROUP_HANDLE = re.compile(r"@?([a-z0-9][a-z0-9._-]{0,79})")
_SUBTEAM = re.compile(r"<!subteam\^(S[A-Z0-9]{2,20})(?:\|[^>]*)?>")  # how Slack writes a group mention

NOT_ALLOWED = Refusal(
    "Only a workspace admin or one of this channel's owners can change its settings.", "not_settings_owner"
)


@dataclass(frozen=True)
class ChannelValues:
    """What a channel sets; None (or empty) is "the workspace's", from the environment."""

    approvers: tuple[str, ...] = ()  # Slack user ids
    approver_groups: tuple[str, ...] = ()  # Slack user group ids (S…)
    owners: tuple[str, ...] = ()  # who besides workspace admins may change these settings
    required_approvals: int | None = None
    allow_self_approval: bool | None = None
    default_destination: str | None = None  # a destination key of the catalogue
    default_variants: int | None = None
    vote_window_seconds: int | None = None
    brand_notes: str | None = None
    provider: str | None = None
    quality: str | None = None
    monthly_budget_usd: float | None = None

    @property
    def vote_window(self) -> timedelta | None:
        return timedelta(seconds=self.vote_window_seconds) if self.vote_window_seconds else None

    def audit(self) -> dict[str, object]:
        """As the audit's before/after shows them."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FormInput:
    """The form's fields as typed or chosen (text stays text: checking it is :func:`validate`'s job)."""

    approvers: tuple[str, ...] = ()
    approver_groups: str = ""
    owners: tuple[str, ...] = ()
    required_approvals: str = ""
    self_approval: str = ""  # "yes", "no", or "" (the workspace's)
    default_destination: str = ""
    default_variants: str = ""
    vote_window: str = ""
    brand_notes: str = ""
    provider: str = ""
    quality: str = ""
    monthly_budget_usd: str = ""


def group_refs(text: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The user groups a field names: (ids ``S…``, handles without ``@``); None when a word is neither."""
    ids: list[str] = []
    handles: list[str] = []
    for word in re.split(r"[\s,;]+", _SUBTEAM.sub(r" \1 ", text.strip())):
        if not word:
            continue
        if _GROUP_ID.fullmatch(word):
            ids.append(word)
        elif handle := _GROUP_HANDLE.fullmatch(word.lower()):
            handles.append(handle[1])
        else:
            return None
    return tuple(dict.fromkeys(ids)), tuple(dict.fromkeys(handles))


def validate(
    form: FormInput, *, providers: Iterable[str], groups: Mapping[str, str]
) -> ChannelValues | dict[str, str]:
    """The channel's values from the form, or the errors by field (block id), each fit to show beside it.

    ``providers``: the ones configured; ``groups``: the workspace's user groups, handle -> id (the
    handles the field names must be among them)."""
    errors: dict[str, str] = {}
    group_ids: tuple[str, ...] = ()
    refs = group_refs(form.approver_groups)
    if refs is None:
        errors["approver_groups"] = "Name user groups by handle (@design-leads) or id (S0123ABC)."
    else:
        unknown = [h for h in refs[1] if h not in groups]
        if unknown:
            errors["approver_groups"] = f"No user group @{unknown[0][:40]} in this workspace."
        group_ids = tuple(dict.fromkeys([*refs[0], *(groups[h] for h in refs[1] if h in groups)]))
    required = _whole(form.required_approvals, 1, MAX_APPROVALS, "approvals", errors, "required_approvals")
    variants = _whole(
        form.default_variants, MIN_VARIANTS, MAX_VARIANTS, "variants", errors, "default_variants"
    )
    window = _window(form.vote_window, errors)
    destination = form.default_destination.strip() or None
    if destination is not None and destination not in {d.key for d in CATALOG}:
        errors["default_destination"] = "Pick a destination from the list."
    notes = " ".join(form.brand_notes.split()) or None  # one line: it goes into every prompt
    if notes is not None and len(notes) > MAX_BRAND_NOTES:
        errors["brand_notes"] = f"Keep brand notes to {MAX_BRAND_NOTES} characters ({len(notes)} now)."
    provider = form.provider.strip() or None
    if provider is not None and provider not in set(providers):
        errors["provider"] = f"{provider[:20]} is not configured here; pick one from the list."
    quality = form.quality.strip() or None
    if quality is not None and quality not in QUALITIES:
        errors["quality"] = "Pick a quality from the list."
    budget = _budget(form.monthly_budget_usd, errors)
    if errors:
        return errors
    return ChannelValues(
        approvers=tuple(dict.fromkeys(form.approvers)),
        approver_groups=group_ids,
        owners=tuple(dict.fromkeys(form.owners)),
        required_approvals=required,
        allow_self_approval={"yes": True, "no": False}.get(form.self_approval),
        default_destination=destination,
        default_variants=variants,
        vote_window_seconds=int(window.total_seconds()) if window else None,
        brand_notes=notes,
        provider=provider,
        quality=quality,
        monthly_budget_usd=budget,
    )


def _whole(raw: str, low: int, high: int, what: str, errors: dict[str, str], field: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        errors[field] = f"A whole number of {what} from {low} to {high}, or empty for the workspace's."
        return None
    return int(raw)


def _window(raw: str, errors: dict[str, str]) -> timedelta | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return parse_duration(raw, what="the voting window")
    except UserInputError as err:
        errors["vote_window"] = err.message[:150]
        return None


def _budget(raw: str, errors: dict[str, str]) -> float | None:
    raw = raw.strip().removeprefix("$").replace(",", "")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= MAX_BUDGET_USD:
        errors["monthly_budget_usd"] = "An amount in USD, 0 or more (like 50 or 12.50), or empty for none."
        return None
    return round(value, 2)


def may_change(user: str, *, is_admin: bool, values: ChannelValues | None) -> Refusal | None:
    """Workspace admins and owners, and the channel's own owners, may change its settings."""
    if is_admin or (values is not None and user in values.owners):
        return None
    return NOT_ALLOWED


def channel_policy(base: Policy, values: ChannelValues | None, group_members: Iterable[str]) -> Policy:
    """The workspace's policy as the channel changes it. Approvers: the channel's people and the members
    of its groups, when it names any (a group with nobody in it then means nobody of it approves, not
    anyone); else the workspace's."""
    if values is None:
        return base
    changes: dict[str, object] = {}
    if values.approvers or values.approver_groups:
        changes["approvers"] = frozenset(values.approvers) | frozenset(group_members)
        changes["approvers_named"] = True
    if values.required_approvals is not None:
        changes["required_approvals"] = values.required_approvals
    if values.allow_self_approval is not None:
        changes["allow_self_approval"] = values.allow_self_approval
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def with_brand_notes(prompt: str, notes: str | None) -> str:
    """The prompt a provider gets: the draft's, and the channel's brand notes after it."""
    return f"{prompt}\n\nBrand notes for this channel: {notes}" if notes else prompt
