"""API keys: the environments they open (by their prefix), and when one works: until it is revoked, and, once
rolled, until its overlap ends."""

SANDBOX, PRODUCTION = "sandbox", "production"
KEY_PREFIXES = {SANDBOX: "t9k_test_", PRODUCTION: "t9k_live_"}


def key_status(revoked_at: int | None, expires_at: int | None, at: int) -> str:
    """``active``, ``expiring`` (rolled, still working until ``expires_at``), ``expired`` or ``revoked``."""
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None:
        return "expiring" if at < expires_at else "expired"
    return "active"
