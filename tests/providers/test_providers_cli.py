"""`draftbot providers`: what is configured, whether the chosen provider can run, and never a key."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.config import Settings
from bot.providers import ProviderNotConfigured, build_provider


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **env: str) -> tuple[int, str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["providers"])
    return code, capsys.readouterr().out


def test_local_is_ready_without_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(monkeypatch, capsys, DRAFTBOT_PROVIDER="local")
    assert code == 0
    assert "* local" in out and "gpt-image-2" in out and "gemini-3-pro-image" in out


def test_a_missing_key_is_named_and_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(monkeypatch, capsys, DRAFTBOT_PROVIDER="gemini")
    assert code == 1 and "GEMINI_API_KEY is not set" in out


def test_keys_are_never_printed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(
        monkeypatch,
        capsys,
        DRAFTBOT_PROVIDER="openai",
        OPENAI_API_KEY="sk-very-secret-1",
        GEMINI_API_KEY="g-secret-2",
        OPENAI_IMAGE_MODEL="gpt-image-1.5",
        DRAFTBOT_PRICES='{"1K": 0.02}',
        DRAFTBOT_IMAGES_PER_MINUTE="5",
    )
    assert code == 0
    assert "sk-very-secret-1" not in out and "g-secret-2" not in out
    assert "gpt-image-1.5" in out and "1K $0.020" in out and "5 images/minute" in out


def test_start_up_stops_with_the_setting_to_fix(tmp_path: object) -> None:
    settings = Settings(_env_file=None, provider="openai")  # type: ignore[call-arg]
    with pytest.raises(ProviderNotConfigured, match="OPENAI_API_KEY"):
        build_provider(settings)


def test_the_cli_turns_a_configuration_error_into_a_message_and_exit_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.setenv("DRAFTBOT_DATA_DIR", str(tmp_path))
    assert main(["serve", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("draftbot: SLACK_SIGNING_SECRET must be set") and "Traceback" not in err
