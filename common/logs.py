"""Logging for the API and the worker. Third-party loggers that would write request bodies (the Stripe SDK
logs them at DEBUG, with customer emails and, for card creation, card numbers) stay at WARNING."""

import logging

QUIET = ("stripe", "httpx", "httpcore")


def configure_logging(level: int = logging.INFO) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    keep_quiet()


def keep_quiet() -> None:
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
