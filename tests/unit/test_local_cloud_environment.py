"""The local cloud gives each invocation its function's environment and restores the process's after."""

from __future__ import annotations

import os

import pytest

from localcloud.cloud import _restore_environment


def test_restoring_unsets_what_was_added_and_puts_back_what_was_changed_or_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAST3_KEPT", "same")
    monkeypatch.setenv("FAST3_CHANGED", "before")
    monkeypatch.setenv("FAST3_REMOVED", "there")
    monkeypatch.delenv("FAST3_ADDED", raising=False)
    saved = dict(os.environ)
    os.environ["FAST3_CHANGED"] = "during"
    os.environ["FAST3_ADDED"] = "during"
    del os.environ["FAST3_REMOVED"]
    _restore_environment(saved)
    assert dict(os.environ) == saved
    assert "FAST3_ADDED" not in os.environ
    assert os.environ["FAST3_CHANGED"] == "before"
    assert os.environ["FAST3_REMOVED"] == "there"
