"""What the API and the worker check before they start (``check_settings``): the settings themselves
(common/settings.py) and what is made from them (the encryption keys, common/encryption.py). Kept apart
from both so that neither imports the other back."""

import sys
from ipaddress import ip_network

from common.encryption import key_problems
from common.settings import (
    LOCAL_KEY_SUFFIX,
    STRIPE_MODES,
    Settings,
    get_settings,
    stripe_keys,
    trusted_proxy_networks,
)


class SettingsError(ValueError):
    """Settings a process must not start with; the message says which and why (never a secret's value)."""


def _stripe_problems(settings: Settings) -> list[str]:
    problems = []
    for environment, mode in STRIPE_MODES.items():
        keys = stripe_keys(settings, environment)
        for kind, value, prefixes in (
            ("secret", keys.secret, (f"sk_{mode}_", f"rk_{mode}_")),
            ("publishable", keys.publishable, (f"pk_{mode}_",)),
        ):
            name = f"GIGCOVER_STRIPE_{environment.upper()}_{kind.upper()}_KEY"
            if value.startswith(prefixes):
                if LOCAL_KEY_SUFFIX in value and not settings.stripe_api_base:
                    problems.append(
                        f"{name} is the local stand-in's placeholder, and GIGCOVER_STRIPE_API_BASE is empty "
                        "(real Stripe): set the key from your Stripe dashboard"
                    )
                continue
            other = "live" if mode == "test" else "test"
            found = (
                f"a {other}-mode key"
                if value.startswith((f"sk_{other}_", f"rk_{other}_", f"pk_{other}_"))
                else "no Stripe key of that kind"
            )
            problems.append(
                f"{name} holds {found}: the {environment} environment takes a {mode}-mode {kind} key "
                f"({' or '.join(p + '…' for p in prefixes)})"
            )
    return problems


def _proxy_problems(settings: Settings) -> list[str]:
    problems = []
    for item in trusted_proxy_networks(settings):
        try:
            ip_network(item, strict=False)
        except ValueError:
            problems.append(f"GIGCOVER_TRUSTED_PROXIES: {item!r} is not an IP address or network")
    return problems


def check_settings(settings: Settings) -> None:
    """What the API and the worker check before they start: each environment's Stripe keys are of its own
    mode (a production deployment never charges cards in test mode, a sandbox never in live mode), and the
    encryption keys are usable, the trusted proxies are addresses. Raises SettingsError naming them."""
    problems = _stripe_problems(settings) + key_problems(settings) + _proxy_problems(settings)
    if problems:
        raise SettingsError("; ".join(problems))


def refuse_bad_settings(process: str) -> None:
    """Exit with one clear line (status 2) when the settings are unsafe to start with (see check_settings)."""
    try:
        check_settings(get_settings())
    except SettingsError as problems:
        sys.exit(f"gigcover {process}: refusing to start: {problems}")
