"""Every knob of the service, read from the environment (prefix ``GIGCOVER_``) or a ``.env`` file.

The defaults describe the embedded local stack that ``make run`` starts on loopback; each piece can be
pointed elsewhere (a Temporal cluster, PostgreSQL, real Stripe, a real SMTP server) by setting its variable.
"""

import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.kept_secret import kept_secret


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GIGCOVER_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path(".data"), description="Where the local stack keeps its state.")
    sandbox_private_webhook_targets: bool = Field(
        False,
        description="Let sandbox webhook endpoints be loopback or private addresses (local development; "
        "make run turns it on). Production endpoints are always https on public addresses.",
    )
    max_request_bytes: int = Field(1_048_576, description="Larger request bodies are refused (413).")
    max_json_depth: int = Field(32, description="JSON bodies nested deeper are refused (400).")
    secret_key: str = Field(
        "",
        description="Signs what the server hands the browser (page messages). Set the same value on every "
        "API process; empty: one made once and kept in data_dir/secret_key (fine for one machine).",
    )
    encryption_keys: str = Field(
        "",
        description="Fernet keys, comma-separated, that encrypt the third-party secrets we store "
        "(CreatorIQ API keys, webhook signing secrets): the first encrypts, every one decrypts (rotation: "
        "put a new key first, run manage.py rotate-secrets, then drop the old one). Set the same value on "
        "every process; empty: one made once and kept in data_dir/encryption_key (fine for one machine).",
    )
    rate_limit_requests: int = Field(
        100, description="Requests one API key may make per rate_limit_window_seconds (0: no limit)."
    )
    rate_limit_window_seconds: int = Field(1, description="The window the API rate limit counts over.")
    unknown_link_limit: int = Field(
        20,
        description="Requests for hosted-page links that do not exist one address may make per "
        "unknown_link_window_seconds; past it, that address gets 429 on every hosted page until the "
        "window ends (0: no limit).",
    )
    unknown_link_window_seconds: int = Field(600, description="The window unknown_link_limit counts over.")
    trusted_proxies: str = Field(
        "",
        description="Addresses or networks, comma-separated (e.g. `10.0.0.5,10.1.0.0/16`), of the proxies "
        "or load balancers in front of the API: only a connection from one of them may name the client in "
        "X-Forwarded-For (and the scheme in X-Forwarded-Proto). Empty: none, the client is the connection's "
        "address. Every per-address limit and the audit log use that address.",
    )
    database_url: str = Field("", description="SQLAlchemy URL; empty means a SQLite file in data_dir.")
    database_pool_size: int = Field(
        32, description="Connections each process keeps open (the worker runs 32 activity threads)."
    )

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_url: str = Field(
        "http://127.0.0.1:8233",
        description="The Temporal web UI the dashboard links each assignment's workflow to; empty: no links.",
    )
    task_queue: str = "gigcover"
    worker_activity_threads: int = Field(32, description="Activities one worker process runs at once.")
    worker_max_cached_workflows: int = Field(
        1000, description="Workflows a worker keeps in memory between tasks (more: less replay, more RAM)."
    )

    # Each environment has its own Stripe keys: the sandbox test-mode keys, production live-mode keys
    # (check_settings refuses the other mode's key in either slot). The defaults are localstripe's.
    stripe_sandbox_secret_key: str = Field(
        "sk_test_gigcover_local", description="Test-mode secret key (sk_test_… or rk_test_…) of the sandbox."
    )
    stripe_sandbox_publishable_key: str = Field(
        "pk_test_gigcover_local",
        description="Test-mode publishable key (pk_test_…) the sandbox card page uses.",
    )
    stripe_production_secret_key: str = Field(
        "sk_live_gigcover_local", description="Live-mode secret key (sk_live_… or rk_live_…) of production."
    )
    stripe_production_publishable_key: str = Field(
        "pk_live_gigcover_local",
        description="Live-mode publishable key (pk_live_…) the production card page uses.",
    )
    stripe_api_base: str | None = Field(
        "http://127.0.0.1:8420", description="Stripe API base; empty for the real Stripe."
    )
    stripe_timeout_seconds: float = Field(
        10.0, gt=0, le=60, description="How long one request to Stripe may wait for its answer."
    )
    stripe_network_retries: int = Field(
        1, ge=0, le=5, description="Retries of a request to Stripe that got no answer (same idempotency key)."
    )

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "gigcover <no-reply@gigcover.local>"

    public_base_url: str = "http://127.0.0.1:8000"
    api_keep_alive_seconds: int = Field(
        75,
        description="How long the API keeps an idle HTTP connection open for reuse. Longer than the "
        "idle timeout of the clients and load balancers in front of it (httpx 5 s, AWS ALB 60 s), so the API "
        "never closes a connection at the moment a client sends its next request on it.",
    )

    webhook_retry_window_seconds: int = Field(
        3 * 86_400, description="How long a failing delivery is retried."
    )
    webhook_timeout_seconds: float = 10.0
    email_retry_window_seconds: int = Field(3 * 86_400, description="How long an email is retried.")
    first_attempt_budget_seconds: float = Field(
        10.0,
        description="How long the worker spends delivering new emails and webhooks itself before it leaves "
        "them to their retrying delivery workflows; 0 sends everything through a workflow.",
    )
    application_lifetime_seconds: int = Field(72 * 3600, description="How long an application link works.")
    card_link_lifetime_seconds: int = Field(
        14 * 86_400,
        description="How long the update-card link in a charge reminder or charge-failure email works.",
    )
    portal_link_lifetime_seconds: int = Field(
        15 * 60, description="How long a contractor portal sign-in link works (it signs in once)."
    )
    portal_session_seconds: int = Field(
        2 * 3600, description="How long a contractor stays signed in to the portal."
    )
    portal_links_per_address: int = Field(
        5, description="Portal sign-in links one email address may be sent per portal_limit_window_seconds."
    )
    portal_requests_per_client: int = Field(
        20, description="Portal sign-in requests one client address may make per portal_limit_window_seconds."
    )
    portal_limit_window_seconds: int = Field(3600, description="The window the portal's limits count over.")
    portal_answer_seconds: float = Field(
        0.4,
        description="The portal's answer to a sign-in request takes at least this long, whether or not the "
        "address is on file, so its timing tells nothing.",
    )
    certificate_link_lifetime_seconds: int = Field(
        14 * 86_400,
        description="How long the link a contractor gets to upload their certificate of insurance works.",
    )
    assignment_notice_seconds: int = Field(
        24 * 3600, description="Notice before an assignment's card charge."
    )
    outbox_sweep_seconds: int = Field(60, description="How often undispatched deliveries are picked up.")
    lifecycle_sweep_seconds: int = Field(
        900, description="How often expired policies and overdue bills are looked for."
    )
    application_reminder_sweep_seconds: int = Field(
        3600,
        description="How often contractors whose application is unfinished are looked for, to be reminded "
        "on the days their organization chose (the sweep starts with the worker; a change applies to a "
        'sweep started afterwards: see the README\'s "What ops see").',
    )
    upload_retention_seconds: int = Field(
        86_400,
        description="How long an uploaded contractor CSV (it holds tax ids) that was never imported is kept "
        "before the lifecycle sweep deletes it; an imported one is deleted when its import finishes.",
    )

    api_processes: int = Field(
        1,
        description="API server processes `python -m api.serve` runs on its port (0: one per core). Each "
        "is a whole API; they share the database, Temporal and every limit.",
    )
    metrics_token: str = Field(
        "",
        description="Bearer token Prometheus sends to scrape the API's /metrics; empty: only loopback "
        "clients may scrape.",
    )
    worker_metrics_address: str = Field(
        "",
        description="host:port where each worker serves its Prometheus metrics (the Temporal SDK's and "
        "ours), also its health check; empty: none.",
    )
    log_format: str = Field(
        "text", description="'text' (readable, the default) or 'json' (one object a line)."
    )
    otlp_endpoint: str = Field(
        "",
        description="OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); empty: tracing off.",
    )

    creatoriq_base_url: str = Field("https://apis.creatoriq.com", description="CreatorIQ's API.")
    creatoriq_requests_per_second: int = Field(5, description="CreatorIQ's rate limit per API key.")
    creatoriq_poll_seconds: int = Field(
        900, description="How often organizations without CreatorIQ webhooks are synced."
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gigcover.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def server_secret(settings: Settings) -> bytes:
    """The secret that signs what we hand the browser: the setting, else one made once and kept."""
    if settings.secret_key:
        return settings.secret_key.encode()
    return kept_secret(settings.data_dir / "secret_key", lambda: secrets.token_urlsafe(48)).encode()


@dataclass(frozen=True)
class StripeKeys:
    secret: str
    publishable: str


STRIPE_MODES = {"sandbox": "test", "production": "live"}  # environment -> the Stripe mode its keys must be
LOCAL_KEY_SUFFIX = "_gigcover_local"  # the placeholders only localstripe takes


def stripe_keys(settings: Settings, environment: str) -> StripeKeys:
    """The Stripe keys of one environment (``sandbox`` or ``production``)."""
    return StripeKeys(
        getattr(settings, f"stripe_{environment}_secret_key"),
        getattr(settings, f"stripe_{environment}_publishable_key"),
    )


def trusted_proxy_networks(settings: Settings) -> list[str]:
    return [item.strip() for item in settings.trusted_proxies.split(",") if item.strip()]
