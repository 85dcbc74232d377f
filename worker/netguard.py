"""SSRF guard: outgoing connections go only to public addresses, checked after resolution.

The check sits in the connection itself (an httpcore network backend): the host name is
resolved once, every resolved address is checked, and the socket is opened to a checked
address. So a name that resolves to a private address is refused, a redirect hop is checked
when it connects, and DNS rebinding (public on a first lookup, private on a second) has no
second lookup to exploit. `allow_private_networks` turns the check off (tests, a laptop that
polls a feed on its own LAN).

The backend also remembers its sockets so that a fetch's total deadline can cut them off
(`abort`): a server dripping one byte a second never trips a per-read timeout.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable
from typing import Any

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(Exception):
    """A connection to a non-public address was refused; the message names host and address."""


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (a literal IP resolves to itself). Tests replace this."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:  # ::ffff:127.0.0.1 and 2002:7f00:1:: reach IPv4 hosts
            reason = refusal_reason(embedded)
            return f"{reason} (embedded in {address})" if reason else None
    for reason, flagged in (
        ("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
        ("link-local", address.is_link_local), ("multicast", address.is_multicast),
        ("reserved", address.is_reserved), ("private", address.is_private),
    ):
        if flagged:
            return reason
    return None if address.is_global else "not globally routable"


def checked_addresses(host: str, port: int) -> list[str]:
    """The addresses of `host`, all public; RefusedAddress if any one is not.

    Refusing a name when *any* of its addresses is private (rather than skipping that one)
    keeps the rule simple to state and leaves nothing for a mixed answer to smuggle.
    """
    try:
        addresses = resolve(host.strip("[]"), port)
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise httpcore.ConnectError(f"cannot resolve {host}: no addresses")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
        reason = refusal_reason(address)
        if reason:
            shown = host if host.strip("[]") == text else f"{host} ({text})"
            raise RefusedAddress(f"refused to connect to {shown}: {reason} address")
    return addresses


class GuardedBackend(httpcore.SyncBackend):
    """Resolve, check, connect to the checked address; remember sockets for `abort`."""

    def __init__(self, allow_private_networks: bool) -> None:
        self.allow_private_networks = allow_private_networks
        self._streams: list[httpcore.NetworkStream] = []
        self._lock = threading.Lock()
        self.aborted = False

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if self.aborted:
            raise httpcore.ConnectTimeout("total deadline passed")
        targets = [host] if self.allow_private_networks else checked_addresses(host, port)
        error: Exception | None = None
        for target in targets:
            try:
                stream = super().connect_tcp(target, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
                continue
            return self._track(stream)
        raise error or httpcore.ConnectError(f"cannot connect to {host}")

    def _track(self, stream: httpcore.NetworkStream) -> httpcore.NetworkStream:
        tracked = _TrackedStream(stream, self)
        with self._lock:
            self._streams.append(stream)
            aborted = self.aborted
        if aborted:
            _shutdown(stream)
        return tracked

    def abort(self) -> None:
        """Cut every socket off: blocked reads return at once. Called by the deadline timer."""
        with self._lock:
            self.aborted = True
            streams = list(self._streams)
        for stream in streams:
            _shutdown(stream)


def _shutdown(stream: httpcore.NetworkStream) -> None:
    sock = stream.get_extra_info("socket")
    try:
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed, or detached by a TLS wrap (the TLS stream is tracked too)


class _TrackedStream(httpcore.NetworkStream):
    """Delegates to a real stream; a TLS upgrade is tracked as well."""

    def __init__(self, inner: httpcore.NetworkStream, backend: GuardedBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        upgraded = self._inner.start_tls(ssl_context, server_hostname, timeout)
        return self._backend._track(upgraded)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)
