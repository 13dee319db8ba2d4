"""The local cloud gives each invocation its function's environment and restores the process's after."""

from __future__ import annotations

import os

import pytest

from localcloud.cloud import _environment_snapshot, _restore_environment


def test_restoring_unsets_what_was_added_and_puts_back_what_was_changed_or_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAST3_KEPT", "same")
    monkeypatch.setenv("FAST3_CHANGED", "before")
    monkeypatch.setenv("FAST3_REMOVED", "there")
    monkeypatch.delenv("FAST3_ADDED", raising=False)
    before = dict(os.environ)
    saved = _environment_snapshot()
    os.environ["FAST3_CHANGED"] = "during"
    os.environ["FAST3_ADDED"] = "during"
    del os.environ["FAST3_REMOVED"]
    _restore_environment(saved)
    assert dict(os.environ) == before
    assert "FAST3_ADDED" not in os.environ
    assert os.environ["FAST3_CHANGED"] == "before"
    assert os.environ["FAST3_REMOVED"] == "there"


def test_an_unchanged_environment_is_left_as_it_is() -> None:
    before = dict(os.environ)
    _restore_environment(_environment_snapshot())
    assert dict(os.environ) == before
