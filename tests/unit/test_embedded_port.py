"""The embedded cluster's port: a port held by a socket that does not listen
(a client connection's ephemeral port) is not free, though nothing answers on it."""

from __future__ import annotations

import socket

from kenshin.platform.db import _free_port


def test_a_port_bound_by_a_socket_that_does_not_listen_is_skipped():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0  # nobody answers on it
        assert _free_port(port) != port
        assert _free_port(port, frozenset({port + 1})) not in (port, port + 1)
