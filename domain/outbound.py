"""Which network addresses a tenant's URL may reach (webhook endpoints): public unicast only, so a platform
cannot point our worker at our own services, a private network or a cloud metadata endpoint. Sandbox may
also reach loopback and private networks when the deployment says so (local development).

An IPv6 address that carries an IPv4 address inside it (NAT64, 6to4, Teredo, the IPv4-mapped,
-translated and -compatible forms) reaches that IPv4 address through a gateway or the kernel, so the IPv4
address inside is judged by the same rules as if it had been given, and then the IPv6 address itself.
A local-use NAT64 address (``64:ff9b:1::/48``) is refused whole: where the IPv4 address sits in it is the
operator's choice, so it cannot be checked. The stdlib's ``is_global``/``is_private`` tables change between
Python releases (3.11 still calls ``192.0.0.8`` and ``::a.b.c.d`` global), so those gaps are explicit
rules here."""

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

METADATA = {ip_address("169.254.169.254"), ip_address("fd00:ec2::254"), ip_address("100.100.100.200")}
SHARED = ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
# Not globally reachable, whatever this Python's tables say (IANA special-purpose registries).
RESERVED: tuple[IPv4Network | IPv6Network, ...] = (
    IPv4Network("192.0.0.0/24"),  # IETF protocol assignments (RFC 6890), e.g. 192.0.0.8 (RFC 7600)
    IPv4Network("192.88.99.0/24"),  # the deprecated 6to4 relay anycast (RFC 7526)
    IPv6Network("::/96"),  # IPv4-compatible, deprecated (RFC 4291 2.5.5.1)
    IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (RFC 2765)
    IPv6Network("fec0::/10"),  # site-local, deprecated (RFC 3879)
    IPv6Network("3fff::/20"),  # documentation (RFC 9637)
    IPv6Network("5f00::/16"),  # SRv6 segment identifiers (RFC 9602)
)
TRANSLATED, COMPATIBLE = IPv6Network("::ffff:0:0:0/96"), IPv6Network("::/96")
NAT64 = IPv6Network("64:ff9b::/96")  # the well-known prefix (RFC 6052): the IPv4 address is the last 32 bits
LOCAL_NAT64 = IPv6Network("64:ff9b:1::/48")  # local-use (RFC 8215)
LOW_32 = 0xFFFF_FFFF


def embedded_ipv4(address: IPv6Address) -> list[tuple[str, IPv4Address]]:
    """The IPv4 addresses an IPv6 address leads to, each with the name of its form."""
    value = int(address)
    found: list[tuple[str, IPv4Address]] = []
    if address.ipv4_mapped is not None:
        found.append(("an IPv4-mapped form", address.ipv4_mapped))
    elif address in TRANSLATED:
        found.append(("an IPv4-translated form", IPv4Address(value & LOW_32)))
    elif address in COMPATIBLE and value > 1:
        found.append(("an IPv4-compatible form", IPv4Address(value & LOW_32)))
    if address in NAT64:
        found.append(("a NAT64 form", IPv4Address(value & LOW_32)))
    if address.sixtofour is not None:
        found.append(("a 6to4 form", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        found += [("a Teredo form", server), ("a Teredo form", client)]
    return found


def _own_refusal(ip: IPv4Address | IPv6Address, private_allowed: bool) -> str | None:
    if ip in METADATA:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_loopback:
        return None if private_allowed else "a loopback address"
    if isinstance(ip, IPv4Address) and ip in SHARED:
        return None if private_allowed else "a shared (carrier-grade NAT) address"
    if any(ip in network for network in RESERVED if network.version == ip.version):
        return "a reserved address"
    if ip.is_private:
        return None if private_allowed else "a private address"
    if not ip.is_global:
        return "a reserved address"
    return None


def address_refusal(address: IPv4Address | IPv6Address, private_allowed: bool) -> str | None:
    """Why an address may not be reached, or None."""
    if isinstance(address, IPv6Address):
        if address in LOCAL_NAT64:  # the operator picks where the IPv4 address sits: it cannot be checked
            return "a local-use NAT64 address"
        for form, inside in embedded_ipv4(address):
            reason = _own_refusal(inside, private_allowed)
            if reason is not None:
                return f"{form} of {inside}, {reason}"
        if address.ipv4_mapped is not None:  # the kernel connects to the IPv4 address itself
            return None
    return _own_refusal(address, private_allowed)
