"""Unit tests are pure: no sockets, no processes. Anything that tries fails loudly.

The event loop's own self-pipe (a socketpair made by the OS) is allowed; connecting,
binding or listening is not, nor starting a process.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest


class IOInUnitTest(AssertionError):
    """A unit test reached for the network or a process: it belongs in tests/integration."""


def _refuse(what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise IOInUnitTest(f"unit tests may not {what}: move this test to tests/integration")

    return refuse


@pytest.fixture(autouse=True)
def _no_io(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for method in ("connect", "connect_ex", "bind", "listen"):
        monkeypatch.setattr(socket.socket, method, _refuse(f"open sockets ({method})"))
    monkeypatch.setattr(socket, "create_connection", _refuse("open sockets"))
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("start processes"))
    monkeypatch.setattr(asyncio, "create_subprocess_exec", _refuse("start processes"))
    monkeypatch.setattr(asyncio, "create_subprocess_shell", _refuse("start processes"))
    yield
