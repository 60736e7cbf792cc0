"""The client's address, decided by the app: the connection's peer, unless that peer is one of
``CAS_TRUSTED_PROXIES``.

Only then is ``X-Forwarded-For`` read, from the right: each trusted proxy appends the address it
was connected from, so the rightmost address that is not itself a trusted proxy is the client;
whatever the client wrote further left is ignored. A value that is not a plain IP address (a
port is allowed) stops the walk at the proxy that passed it on. The per-IP rate limit and the
audit trail use this address.

Run the server without its own proxy-header handling (``cas serve`` does; with uvicorn pass
``--no-proxy-headers``): uvicorn would otherwise replace the peer before the app sees it, and
with ``FORWARDED_ALLOW_IPS=*`` it takes the leftmost address, which the client chooses.
"""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send


def _without_port(hop: str) -> str:
    """``203.0.113.5:4711`` and ``[2001:db8::1]:4711`` (some proxies add the port) -> address."""
    if hop.startswith("[") and "]" in hop:
        address, _, port = hop[1:].partition("]")
        return address if port == "" or (port.startswith(":") and port[1:].isdigit()) else hop
    if hop.count(":") == 1:
        address, _, port = hop.partition(":")
        return address if port.isdigit() else hop
    return hop


class ClientAddressMiddleware:
    def __init__(self, app: ASGIApp, *, trusted_proxies: list[str]) -> None:
        self.app = app
        self.networks = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]

    def _is_proxy(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_address(self, peer: str, forwarded_for: list[str]) -> str:
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        address = peer
        for hop in reversed(hops):
            if not self._is_proxy(address):
                break
            try:
                ip = ipaddress.ip_address(_without_port(hop))
            except ValueError:
                break
            if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
                break  # a zone id is free text: never a client's public address
            address = str(ip)
        return address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.networks:  # no trusted proxies: the peer is the client
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and client and self._is_proxy(client[0]):
            forwarded_for: list[str] = []
            proto: str | None = None
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    forwarded_for.append(value.decode("latin-1"))
                elif name == b"x-forwarded-proto":
                    proto = value.decode("latin-1").strip().lower()
            scope["client"] = (self.client_address(client[0], forwarded_for), 0)
            if proto in ("http", "https") and scope["type"] == "http":
                scope["scheme"] = proto
        await self.app(scope, receive, send)
