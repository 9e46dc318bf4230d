"""A channel's settings as plain values: each invalid field is named with a reason fit to show beside it,
only admins and the channel's owners may change them, and a channel's approvers (people and user groups)
replace the workspace's: a group with nobody in it means nobody of it approves, never anyone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.blocks import parent_blocks
from bot.channel_settings import (
    MAX_BRAND_NOTES,
    ChannelValues,
    FormInput,
    channel_policy,
    group_refs,
    may_change,
    validate,
    with_brand_notes,
)
from bot.command import DraftRequest, parse
from bot.destinations import by_key
from bot.errors import UnknownDestinationError, UserInputError
from bot.modals import draft_modal
from bot.publisher import DraftCard
from bot.settings_form import FIELDS, settings_modal
from bot.workflow import DraftStatus, Policy
from tests.block_kit import view_problems

GROUPS = {"design-leads": "S0LEADS", "brand": "S0BRAND"}
PROVIDERS = ("local", "openai")


def check(**fields: object) -> ChannelValues | dict[str, str]:
    return validate(FormInput(**fields), providers=PROVIDERS, groups=GROUPS)  # type: ignore[arg-type]


def test_an_empty_form_sets_nothing_so_the_workspace_defaults_apply() -> None:
    assert check() == ChannelValues()


def test_valid_values_are_read_as_what_they_mean() -> None:
    values = check(
        approvers=("U1", "U2", "U1"),
        approver_groups="@design-leads, S0OTHER <!subteam^S0BRAND|@brand>",
        owners=("U9",),
        required_approvals="2",
        self_approval="no",
        default_destination="feed-post",
        default_variants="6",
        vote_window="1h30m",
        brand_notes="  matte, warm orange accents,\n no text, no people ",
        provider="openai",
        quality="high",
        monthly_budget_usd="$1,250.5",
    )
    assert values == ChannelValues(
        approvers=("U1", "U2"),
        approver_groups=("S0OTHER", "S0BRAND", "S0LEADS"),
        owners=("U9",),
        required_approvals=2,
        allow_self_approval=False,
        default_destination="feed-post",
        default_variants=6,
        vote_window_seconds=5400,
        brand_notes="matte, warm orange accents, no text, no people",
        provider="openai",
        quality="high",
        monthly_budget_usd=1250.5,
    )
    assert isinstance(values, ChannelValues) and values.vote_window == timedelta(minutes=90)


def test_every_invalid_value_is_named_by_its_field() -> None:
    errors = check(
        approver_groups="@nobody-here",
        required_approvals="0",
        default_destination="billboard",
        default_variants="nine",
        vote_window="2x",
        brand_notes="x" * (MAX_BRAND_NOTES + 1),
        provider="gemini",  # not configured here
        quality="ultra",
        monthly_budget_usd="-5",
    )
    assert isinstance(errors, dict)
    assert set(errors) == {
        "approver_groups",
        "required_approvals",
        "default_destination",
        "default_variants",
        "vote_window",
        "brand_notes",
        "provider",
        "quality",
        "monthly_budget_usd",
    }
    assert "@nobody-here" in errors["approver_groups"]
    assert "501 now" in errors["brand_notes"]
    assert all(len(reason) <= 150 for reason in errors.values())  # Slack shows 150 beside a field


@pytest.mark.parametrize("budget", ["nan", "inf", "1e9", "ten", "1.2.3"])
def test_a_budget_must_be_a_finite_amount(budget: str) -> None:
    assert set(check(monthly_budget_usd=budget)) == {"monthly_budget_usd"}  # type: ignore[arg-type]


def test_group_references_are_ids_handles_or_slack_mentions() -> None:
    assert group_refs("S0ABC @Design-Leads,brand") == (("S0ABC",), ("design-leads", "brand"))
    assert group_refs("<!subteam^S0XYZ|@x>") == (("S0XYZ",), ())
    assert group_refs("not a group!") is None


def test_only_admins_and_the_channels_owners_may_change_settings() -> None:
    owned = ChannelValues(owners=("UOWNER",))
    assert may_change("UADMIN", is_admin=True, values=None) is None
    assert may_change("UOWNER", is_admin=False, values=owned) is None
    refusal = may_change("UOTHER", is_admin=False, values=owned)
    assert refusal is not None and refusal.code == "not_settings_owner"
    assert may_change("UOWNER", is_admin=False, values=None) is not None  # no settings: admins only


def test_a_channels_approvers_are_its_people_and_its_groups_members() -> None:
    base = Policy(approvers=frozenset({"UENV"}), required_approvals=1, allow_self_approval=True)
    values = ChannelValues(approvers=("U1",), approver_groups=("S0LEADS",), required_approvals=2)
    policy = channel_policy(base, values, {"U2"})
    assert policy.approvers == {"U1", "U2"} and policy.required_approvals == 2
    assert policy.is_approver("U2") and not policy.is_approver("UENV")
    assert policy.allow_self_approval  # not set by the channel: the workspace's


def test_a_group_with_nobody_in_it_means_nobody_approves_not_anyone() -> None:
    policy = channel_policy(Policy(), ChannelValues(approver_groups=("S0EMPTY",)), set())
    assert not policy.is_approver("UANYONE")
    assert Policy().is_approver("UANYONE")  # the workspace's: no approvers named means anyone
    assert channel_policy(Policy(), ChannelValues(brand_notes="x"), set()).is_approver("UANYONE")


def test_brand_notes_follow_the_prompt() -> None:
    assert with_brand_notes("a fox", None) == "a fox"
    assert with_brand_notes("a fox", "matte") == "a fox\n\nBrand notes for this channel: matte"


def test_the_form_is_valid_block_kit_empty_and_filled() -> None:
    filled = ChannelValues(
        approvers=("U1",),
        approver_groups=("S0LEADS", "S0UNNAMED"),
        owners=("U2",),
        required_approvals=2,
        allow_self_approval=False,
        default_destination="feed-post",
        default_variants=3,
        vote_window_seconds=7200,
        brand_notes="<!channel> & " + "x" * 480,
        provider="openai",
        quality="low",
        monthly_budget_usd=12.5,
    )
    for values in (None, filled):
        view = settings_modal("C1", values, providers=PROVIDERS, group_handles={"S0LEADS": "design-leads"})
        assert view_problems(view) == []
        assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
            "approvers",
            "approver_groups",
            "required_approvals",
            "self_approval",
            "owners",
            "default_destination",
            "default_variants",
            "vote_window",
            "brand_notes",
            "provider",
            "quality",
            "monthly_budget_usd",
        ]
        assert set(FIELDS) == {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
    shown = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert shown["approver_groups"]["initial_value"] == "@design-leads S0UNNAMED"
    assert shown["vote_window"]["initial_value"] == "2h"
    assert shown["self_approval"]["initial_option"]["value"] == "no"


def test_the_parent_shows_the_brand_notes_escaped() -> None:
    card = DraftCard(
        draft_id=1,
        team_id="T1",
        channel_id="C1",
        requester="U1",
        prompt="a fox",
        destination="feed post",
        ratio="1:1",
        status=DraftStatus.VOTING,
        n_variants=4,
        ready=4,
        brand_notes="matte <!channel> & warm",
    )
    shown = str(parent_blocks(card))
    assert "Brand notes: matte &lt;!channel&gt; &amp; warm" in shown
    assert "Brand notes" not in str(parent_blocks(DraftCard(**{**card.__dict__, "brand_notes": None})))


def test_a_channels_default_destination_takes_a_prompt_that_names_none() -> None:
    default = by_key("feed-post")
    parsed = parse("a matte black water bottle --n 2", default_destination=default)
    assert isinstance(parsed, DraftRequest) and parsed.destination == default and parsed.n_variants == 2
    named = parse("a fox for mobile cover", default_destination=default)
    assert isinstance(named, DraftRequest) and named.destination == by_key("mobile-cover")
    with pytest.raises(UnknownDestinationError):  # a typo is never sent to the default
        parse("a fox for mobil cover", default_destination=default)
    with pytest.raises(UserInputError):  # no default: the destination is still asked for
        parse("a matte black water bottle")
    assert parsed.n_given  # `--n` typed: the channel's default number does not apply
    assert isinstance(p := parse("a fox", default_destination=default), DraftRequest) and not p.n_given


def test_the_draft_form_starts_on_the_channels_default_destination() -> None:
    view = draft_modal("C1", destination=by_key("poster"))
    select = next(b["element"] for b in view["blocks"] if b.get("block_id") == "destination")
    assert select["initial_option"]["value"] == "poster" and view_problems(view) == []
    plain = next(b["element"] for b in draft_modal("C1")["blocks"] if b.get("block_id") == "destination")
    assert "initial_option" not in plain
