"""The fault injector's wrapping of botocore survives a patch that undid it (test order must not
silently turn a fault run into a fault-free one)."""

from __future__ import annotations

from typing import Any
from unittest import mock

from botocore.client import BaseClient

from localcloud import faults


def _plain(*_: Any) -> None:
    return None


def _other(*_: Any) -> None:
    return None


def test_the_wrapper_is_put_back_after_a_patch_that_began_before_it_ended() -> None:
    with mock.patch.object(BaseClient, "_make_api_call", _plain):
        # A recorder's patch (the IAM coverage run) is active when a simulation installs the faults
        with mock.patch.object(BaseClient, "_make_api_call", _other):
            faults._install()
            assert getattr(BaseClient, "_make_api_call")._arrears_faults  # noqa: B009
        # The recorder's patch ended: it put back what it found, without the wrapper
        assert getattr(BaseClient, "_make_api_call") is _plain  # noqa: B009
        faults._install()
        wrapper = getattr(BaseClient, "_make_api_call")  # noqa: B009
        assert getattr(wrapper, "_arrears_faults", False), "the next fault run would inject nothing"
