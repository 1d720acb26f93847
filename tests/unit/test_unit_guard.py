"""The unit suite's guard: a unit test cannot open a socket or start a process."""

from __future__ import annotations

import socket
import subprocess

import pytest

from tests.unit.conftest import IOInUnitTest


def test_the_guard_refuses_sockets_and_processes() -> None:
    with pytest.raises(IOInUnitTest):
        socket.create_connection(("127.0.0.1", 9))
    with pytest.raises(IOInUnitTest):
        subprocess.run(["true"], check=False)
