"""The metrics' own rules, with plain values: a registry per instance, bounded labels, outcomes by type."""

from __future__ import annotations

from prometheus_client import REGISTRY
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

from bot.metrics import Metrics, ack_kind, provider_outcome
from bot.providers.base import BadOutput, RateLimited, Refused, Unavailable


def slack_error(data: object, status: int = 200) -> SlackApiError:
    response = SlackResponse(
        client=None, http_verb="POST", api_url="u", req_args={}, data=data, headers={}, status_code=status
    )  # type: ignore[arg-type]
    return SlackApiError("failed", response)


def test_each_instance_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()  # the global registry would refuse the second's names
    first.image_made("local", "1K", 0.5)
    assert first.registry.get_sample_value("draftbot_images_total", {"provider": "local", "tier": "1K"}) == 1
    assert (
        second.registry.get_sample_value("draftbot_images_total", {"provider": "local", "tier": "1K"}) is None
    )
    assert (
        first.registry.get_sample_value(
            "draftbot_estimated_spend_usd_total", {"provider": "local", "tier": "1K"}
        )
        == 0.5
    )
    assert REGISTRY.get_sample_value("draftbot_images_total", {"provider": "local", "tier": "1K"}) is None


def test_slack_errors_have_bounded_labels() -> None:
    metrics = Metrics()
    metrics.slack_error("chat.postMessage", slack_error({"ok": False, "error": "channel_not_found"}))
    metrics.slack_error("chat.update", slack_error({"ok": False, "error": "A whole sentence, U0ALICE"}))
    metrics.slack_error("chat.update", slack_error("<html>bad gateway</html>", status=502))
    metrics.slack_error("chat.update", ConnectionResetError())
    get = metrics.registry.get_sample_value
    assert (
        get("draftbot_slack_api_errors_total", {"method": "chat.postMessage", "error": "channel_not_found"})
        == 1
    )
    assert get("draftbot_slack_api_errors_total", {"method": "chat.update", "error": "http_200"}) == 1
    assert get("draftbot_slack_api_errors_total", {"method": "chat.update", "error": "http_502"}) == 1
    assert get("draftbot_slack_connection_errors_total", {"method": "chat.update"}) == 1


def test_outcomes_and_ack_kinds() -> None:
    assert provider_outcome(None) == "ok"
    assert provider_outcome(Refused("no")) == "refused"
    assert provider_outcome(RateLimited("slow down")) == "rate_limited"
    assert provider_outcome(Unavailable("503")) == "unavailable"
    assert provider_outcome(BadOutput("no image")) == "bad_output"
    assert provider_outcome(KeyError("x")) == "error"
    assert ack_kind({"command": "/draft"}) == "command"
    assert ack_kind({"type": "event_callback"}) == "event"
    assert ack_kind({"type": "block_actions"}) == "interaction"
