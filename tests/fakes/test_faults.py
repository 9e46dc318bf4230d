"""The one fault-injection API of the fakes (fakes.faults)."""

from __future__ import annotations

import pytest

from fakes.faults import Fault, Faults


def test_faults_are_met_in_order_per_target_and_used_up() -> None:
    faults = Faults()
    first = faults.add("chat.postMessage", status=429, retry_after=2, times=2)
    anywhere = faults.add(error="fatal_error")
    assert faults.take("files.info") is anywhere  # "*" matches every target
    assert faults.take("chat.postMessage") is first
    assert faults.take("chat.postMessage") is first
    assert first.exhausted and first.hits == 2
    assert faults.take("chat.postMessage") is None  # "*" was used up by files.info
    assert faults.pending() == []


def test_forever_clear_and_presets() -> None:
    faults = Faults()
    forever = faults.add("upload", delay=0.1, times=None)
    for _ in range(5):
        assert faults.take("upload") is forever
    preset = Fault("generateContent", status=503, error="UNAVAILABLE", headers={"x": "1"})
    queued = faults.put(preset)
    assert queued is not preset and queued.hits == 0 and queued.headers == {"x": "1"}
    faults.clear("upload")
    assert faults.pending() == [queued]
    faults.clear()
    assert faults.pending() == []


def test_a_fault_must_do_something() -> None:
    with pytest.raises(ValueError, match="needs"):
        Faults().add("chat.postMessage")


def test_retry_after_as_a_header() -> None:
    assert Fault(retry_after=7).retry_after_header() == "7"
    assert Fault(retry_after=0.5).retry_after_header() == "0.5"
    assert Fault().retry_after_header() is None
    assert Fault(status=500).answers and not Fault(delay=1).answers and not Fault(kind="no_data").answers
