"""The guard in front of every outbound call to a URL a tenant controls: resolve the host once, check every
address it resolves to (domain.outbound), and connect to the checked address itself, with the original Host
header and TLS server name, so a DNS answer that changes after the check (rebinding) cannot get around it."""

import socket
from dataclasses import dataclass, field
from ipaddress import IPv6Address, ip_address
from urllib.parse import urlsplit, urlunsplit

from domain.errors import invalid
from domain.outbound import address_refusal


class TargetRefused(Exception):
    pass


class Unresolved(TargetRefused):
    """The host has no address (yet): nothing can be reached through it."""


@dataclass(frozen=True)
class Pinned:
    """A request to the checked address: ``url`` names the IP; ``headers`` and ``extensions`` the host."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def private_allowed(environment: str, sandbox_private_targets: bool) -> bool:
    return environment == "sandbox" and sandbox_private_targets


def pin(url: str, environment: str, sandbox_private_targets: bool) -> Pinned:
    """Raises TargetRefused with the reason when the URL may not be called."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise TargetRefused("only http and https URLs with a host can be called")
    if environment != "sandbox" and parts.scheme != "https":
        raise TargetRefused("production webhook endpoints must use https")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError):
        raise Unresolved(f"{host} does not resolve") from None
    addresses = list(dict.fromkeys(ip_address(str(info[4][0]).split("%")[0]) for info in infos))
    allow = private_allowed(environment, sandbox_private_targets)
    for address in addresses:
        reason = address_refusal(address, allow)
        if reason is not None:
            shown = f"{host} resolves to {address}" if str(address) != host else str(address)
            raise TargetRefused(f"{shown}, {reason}; webhook endpoints must be public")
    chosen = addresses[0]
    literal = f"[{chosen}]" if isinstance(chosen, IPv6Address) else str(chosen)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host_header = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return Pinned(urlunsplit(parts._replace(netloc=netloc)), {"Host": host_header}, extensions)


def check_target(url: str, environment: str, sandbox_private_targets: bool) -> None:
    """At registration: the same rules, as a refusal of the ``url`` field. A name that does not resolve yet
    is accepted: it reaches nothing, and every delivery resolves and checks it again."""
    try:
        pin(url, environment, sandbox_private_targets)
    except Unresolved:
        return
    except TargetRefused as refused:
        raise invalid(f"url: {refused}", "url") from None
