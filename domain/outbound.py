"""Which network addresses a tenant's URL may reach (webhook endpoints): public unicast only, so a platform
cannot point our worker at our own services, a private network or a cloud metadata endpoint. Sandbox may
also reach loopback and private networks when the deployment says so (local development)."""

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

METADATA = {ip_address("169.254.169.254"), ip_address("fd00:ec2::254"), ip_address("100.100.100.200")}
SHARED = ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)


def address_refusal(address: IPv4Address | IPv6Address, private_allowed: bool) -> str | None:
    """Why an address may not be reached, or None."""
    ip = address.ipv4_mapped or address if isinstance(address, IPv6Address) else address
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
    if ip.is_private:
        return None if private_allowed else "a private address"
    if not ip.is_global:
        return "a reserved address"
    return None
