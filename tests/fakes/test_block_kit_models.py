"""The fake Slack refuses what slack_sdk's Block Kit models refuse, beside its own rules, and still accepts
what Slack accepts (an image shown from a processed ``slack_file``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from fakes.slack import FakeSlack, SlackError, Workspace, serve_fake_slack

CHANNEL = "C0GENERAL"


def option(n: int) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": f"option {n}"}, "value": str(n)}


def select(options: int) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "options": [option(n) for n in range(options)]}


def refusal(blocks: list[dict[str, Any]]) -> SlackError:
    with pytest.raises(SlackError) as excinfo:
        Workspace().post_message(CHANNEL, user="U0DRAFTBOT", text="x", blocks=blocks)
    return excinfo.value


@pytest.mark.parametrize(
    ("block", "said"),
    [
        # The hand-written rules let these through; the models do not.
        (
            {"type": "actions", "elements": [select(101)]},
            "options attribute cannot exceed 100 elements (slack_sdk ActionsBlock) [json-pointer:/blocks/1]",
        ),
        (
            {"type": "actions", "elements": [{"type": "no_such_element"}]},
            "unsupported component (slack_sdk ActionsBlock dropped it) [json-pointer:/blocks/1/elements/0]",
        ),
        (
            {"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "accessory": select(101)},
            "options attribute cannot exceed 100 elements (slack_sdk SectionBlock) [json-pointer:/blocks/1]",
        ),
        (
            {"type": "video", "alt_text": "a clip"},  # known to the hand-written rules, but not checked there
            "thumbnail_url attribute must be specified (slack_sdk VideoBlock) [json-pointer:/blocks/1]",
        ),
    ],
)
def test_the_models_refuse_what_the_hand_written_rules_miss(block: dict[str, Any], said: str) -> None:
    error = refusal([{"type": "divider"}, block])
    assert error.code == "invalid_blocks"
    assert len(error.errors) == 1 and said in error.errors[0], error.errors


def test_an_error_both_find_is_reported_once_with_the_precise_pointer() -> None:
    error = refusal([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
    assert error.errors == ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]


def test_a_block_the_models_cannot_build_is_refused_not_raised() -> None:
    error = refusal([{"type": "video", "alt_text": 5, "title": 1, "thumbnail_url": 2, "video_url": 3}])
    assert error.code == "invalid_blocks" and "(slack_sdk VideoBlock)" in error.errors[0], error.errors
    no_alt = refusal([{"type": "context", "elements": [{"type": "image", "image_url": "https://e.x/a.png"}]}])
    assert no_alt.errors == ["missing required field: alt_text [json-pointer:/blocks/0/elements/0]"]


def test_views_are_checked_by_the_view_model() -> None:
    state = Workspace()
    home = {"type": "home", "submit": {"type": "plain_text", "text": "Go"}, "blocks": [{"type": "divider"}]}
    with pytest.raises(SlackError) as excinfo:
        state.validate_view(home)
    assert excinfo.value.code == "invalid_arguments"
    assert excinfo.value.errors == [
        "home view cannot have submit and close (slack_sdk View) [json-pointer:/view]"
    ]
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Pick"},
        "blocks": [{"type": "actions", "elements": [select(101)]}],
    }
    with pytest.raises(SlackError) as excinfo:
        state.validate_view(modal)
    assert excinfo.value.errors[0].endswith("[json-pointer:/view/blocks/0]")
    assert state.validate_view({**modal, "blocks": [{"type": "actions", "elements": [select(100)]}]})


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeSlack]:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with serve_fake_slack(scan_delay=None) as fake:
        yield fake


async def test_over_the_wire_the_answer_names_the_model_and_slack_files_still_show(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.base_url)
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(
            channel=CHANNEL, text="x", blocks=[{"type": "actions", "elements": [select(101)]}]
        )
    body = excinfo.value.response.data
    assert body["error"] == "invalid_blocks"
    assert body["errors"] == [
        "options attribute cannot exceed 100 elements (slack_sdk ActionsBlock) [json-pointer:/blocks/0]"
    ]
    assert body["response_metadata"]["messages"] == [f"[ERROR] {e}" for e in body["errors"]]

    upload = await client.files_upload_v2(content=b"\x89PNG\r\n\x1a\n" + b"0" * 64, filename="v.png")
    file_id = upload["file"]["id"]
    fake.complete_scan(file_id)
    fake.state.files[file_id].mimetype = "image/png"
    image = {"type": "image", "slack_file": {"id": file_id}, "alt_text": "variant 1"}
    posted = await client.chat_postMessage(channel=CHANNEL, text="variant 1", blocks=[image])
    assert posted["message"]["blocks"][0]["slack_file"] == {"id": file_id}


async def test_views_publish_and_update_are_validated(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.base_url)
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Drafts*"}}]}
    first = await client.views_publish(user_id="U0ALICE", view=home)
    again = await client.views_publish(user_id="U0ALICE", view={**home, "private_metadata": "2"})
    assert first["view"]["id"] == again["view"]["id"] and again["view"]["private_metadata"] == "2"
    with pytest.raises(SlackApiError) as excinfo:
        await client.views_publish(
            user_id="U0ALICE", view={**home, "close": {"type": "plain_text", "text": "x"}}
        )
    assert excinfo.value.response["errors"] == [
        "home view cannot have submit and close (slack_sdk View) [json-pointer:/view]"
    ]
    too_many = {**home, "blocks": [{"type": "divider"}] * 101}
    with pytest.raises(SlackApiError) as excinfo:
        await client.views_publish(user_id="U0ALICE", view=too_many)
    assert excinfo.value.response["error"] == "invalid_arguments"

    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Draft"},
        "blocks": [{"type": "divider"}],
    }
    opened = await client.views_open(trigger_id=fake.issue_trigger_id("U0ALICE"), view=modal)
    bad = {**modal, "blocks": [{"type": "actions", "elements": [select(101)]}]}
    with pytest.raises(SlackApiError) as excinfo:
        await client.views_update(view_id=opened["view"]["id"], view=bad)
    assert excinfo.value.response["errors"] == [
        "options attribute cannot exceed 100 elements (slack_sdk ActionsBlock) [json-pointer:/view/blocks/0]"
    ]
    updated = await client.views_update(view_id=opened["view"]["id"], view={**modal, "callback_id": "v2"})
    assert updated["view"]["callback_id"] == "v2"
    assert [v["type"] for v in fake.state.snapshot()["views"]] == ["modal"]  # a Home tab is not a modal
