"""Unit tests exercise the pure domain: any attempt to open a socket fails the test."""

from __future__ import annotations

import socket
from typing import Any

import pytest


class _NoNetwork(socket.socket):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("unit tests must not open sockets; move this test to tests/integration")


@pytest.fixture(autouse=True)
def _block_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "socket", _NoNetwork)
