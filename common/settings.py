"""Every knob of the service, read from the environment (prefix ``GIGCOVER_``) or a ``.env`` file.

The defaults describe the embedded local stack that ``make run`` starts on loopback; each piece can be
pointed elsewhere (a Temporal cluster, PostgreSQL, real Stripe, a real SMTP server) by setting its variable.
"""

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    stripe_api_key: str = "sk_test_gigcover_local"
    stripe_publishable_key: str = "pk_test_gigcover_local"
    stripe_api_base: str | None = Field(
        "http://127.0.0.1:8420", description="Stripe API base; empty for the real Stripe."
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
    assignment_notice_seconds: int = Field(
        24 * 3600, description="Notice before an assignment's card charge."
    )
    outbox_sweep_seconds: int = Field(60, description="How often undispatched deliveries are picked up.")
    lifecycle_sweep_seconds: int = Field(
        900, description="How often expired policies and overdue bills are looked for."
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
    path = settings.data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()
