"""``make run``: start the whole stack on loopback and print where everything is.

Starts, each as its own process: the Temporal dev server (web UI on, state in a SQLite file, our search
attributes registered), localstripe, the SMTP sink with its web mailbox, the worker and the API. A piece
whose setting points elsewhere (``GIGCOVER_TEMPORAL_ADDRESS``, ``GIGCOVER_STRIPE_API_BASE``,
``GIGCOVER_SMTP_HOST``/``_PORT``) is not started: the stack uses the one you named. Ctrl-C stops everything
this started; a piece that dies while the stack runs is started again. The next run finds the same data
in ``GIGCOVER_DATA_DIR`` (``.data/``).
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select

from common.settings import Settings
from common.temporal import search_attribute_flags
from db.catalog import seed_catalog
from db.engine import make_engine, make_session_factory
from db.migrate import upgrade_to_head
from db.models import ApiKey, Member
from domain.roles import Role
from services import members
from services.api_keys import hash_key
from services.audit import COMMAND_LINE
from services.organization import create_organization

HOST = "127.0.0.1"
# The dev server's SQLite file: write-ahead logging instead of a rollback journal, and fsync at checkpoints
# rather than on every commit. A killed server loses nothing (the log is in the file); only a power cut
# could drop the last few commits, an acceptable trade for a local stack (production uses PostgreSQL).
TEMPORAL_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


def one_per_core() -> int:
    return min(os.cpu_count() or 1, 4)


class DevStack(BaseSettings):
    """What `make run` starts: its ports, and how many worker and API processes (one per core by default,
    since a Python process uses one core at most; up to 4, as they share one SQLite file)."""

    model_config = SettingsConfigDict(env_prefix="GIGCOVER_DEV_", env_file=".env", extra="ignore")

    workers: int = Field(default_factory=one_per_core, ge=1)
    api_processes: int = Field(default_factory=one_per_core, ge=1)

    api_port: int = 8000
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    stripe_port: int = 8420
    smtp_port: int = 1025
    mailbox_port: int = 8025


@dataclass
class Piece:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_dir: Path
    process: subprocess.Popen[bytes]
    restarts: list[float] = field(default_factory=list)


# A piece that dies is started again, as compose's `restart: unless-stopped` does; one that dies this often
# within the window is crash-looping (a bad setting, a port taken), and the stack stops with its name.
RESTARTS_PER_WINDOW, RESTART_WINDOW = 5, 60.0


def _spawn(name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / f"{name}.log").open("ab")
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


@dataclass
class Stack:
    pieces: list[Piece] = field(default_factory=list)

    @property
    def processes(self) -> list[tuple[str, subprocess.Popen[bytes]]]:
        return [(piece.name, piece.process) for piece in self.pieces]

    def start(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.pieces.append(Piece(name, argv, env, log_dir, _spawn(name, argv, env, log_dir)))

    def check_alive(self) -> None:
        """While the stack starts: a piece that exits is a failed start."""
        for name, proc in self.processes:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {proc.returncode}; see its log in the data folder"
                )

    def restart_dead(self) -> None:
        """Once the stack runs: start again each piece that exited (a killed worker, an API that crashed),
        saying so; a piece that keeps dying stops the stack."""
        now = time.monotonic()
        for piece in self.pieces:
            code = piece.process.poll()
            if code is None:
                continue
            piece.restarts = [at for at in piece.restarts if now - at < RESTART_WINDOW] + [now]
            if len(piece.restarts) > RESTARTS_PER_WINDOW:
                raise RuntimeError(
                    f"{piece.name} exited with code {code} {RESTARTS_PER_WINDOW} times within "
                    f"{RESTART_WINDOW:.0f}s; see its log in the data folder"
                )
            print(f"{piece.name} exited with code {code}; starting it again", flush=True)
            piece.process = _spawn(piece.name, piece.argv, piece.env, piece.log_dir)

    def stop(self) -> None:
        for _name, proc in reversed(self.processes):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _name, proc in reversed(self.processes):
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_for_port(port: int, stack: Stack, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on {HOST}:{port} within {timeout:.0f}s")


def wait_for_http(url: str, stack: Stack, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


DEMO_ADMIN = "admin@demo-platform.example"


@dataclass(frozen=True)
class Demo:
    sandbox_key: str
    admin_email: str
    admin_password: str


def demo_organization(settings: Settings) -> Demo:
    """The seeded demo organization's sandbox key and dashboard admin, made on the first run and kept in the
    data folder (readable only by its owner)."""
    engine = make_engine(settings.resolved_database_url)
    key_file = settings.data_dir / "demo-organization.json"
    with make_session_factory(engine)() as session:
        seed_catalog(session)
        saved = json.loads(key_file.read_text()) if key_file.exists() else {}
        if not saved or not session.scalar(
            select(ApiKey).where(ApiKey.key_hash == hash_key(saved["sandbox_key"]))
        ):
            made = create_organization(
                session,
                "Demo Platform",
                billing_contact_name="Demo Billing",
                billing_contact_email="billing@demo-platform.example",
                approve_categories=["*"],
            )
            saved = {
                "organization": made.organization.id,
                "sandbox_key": made.sandbox_key,
                "production_key": made.production_key,
            }
        if "admin_password" not in saved or session.get(Member, saved.get("admin_id", "")) is None:
            password = secrets.token_urlsafe(12)
            admin = members.create_member(
                session,
                saved["organization"],
                members.NewMember(email=DEMO_ADMIN, name="Demo Admin", role=Role.ADMIN),
                password,
                COMMAND_LINE,
            )
            session.commit()
            saved |= {"admin_id": admin.id, "admin_email": DEMO_ADMIN, "admin_password": password}
        key_file.write_text(json.dumps(saved, indent=2))
        key_file.chmod(0o600)
    engine.dispose()
    return Demo(saved["sandbox_key"], saved["admin_email"], saved["admin_password"])


def main() -> int:
    dev = DevStack()
    settings = Settings()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    bin_dir = Path(sys.executable).parent
    api_url = f"http://{HOST}:{dev.api_port}"

    embed_temporal = settings.temporal_address == Settings.model_fields["temporal_address"].default
    embed_stripe = settings.stripe_api_base == Settings.model_fields["stripe_api_base"].default
    embed_smtp = (settings.smtp_host, settings.smtp_port) == (HOST, 1025)
    overrides = {"GIGCOVER_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    # Local development: sandbox webhooks may go to a receiver on this machine (never in the image).
    overrides["GIGCOVER_SANDBOX_PRIVATE_WEBHOOK_TARGETS"] = os.environ.get(
        "GIGCOVER_SANDBOX_PRIVATE_WEBHOOK_TARGETS", "true"
    )
    overrides.setdefault("GIGCOVER_PUBLIC_BASE_URL", os.environ.get("GIGCOVER_PUBLIC_BASE_URL", api_url))
    if embed_temporal:
        overrides["GIGCOVER_TEMPORAL_ADDRESS"] = f"{HOST}:{dev.temporal_port}"
        overrides["GIGCOVER_TEMPORAL_UI_URL"] = f"http://{HOST}:{dev.temporal_ui_port}"
    if embed_stripe:
        overrides["GIGCOVER_STRIPE_API_BASE"] = f"http://{HOST}:{dev.stripe_port}"
    if embed_smtp:
        overrides["GIGCOVER_SMTP_PORT"] = str(dev.smtp_port)
    os.environ.update(overrides)
    settings, env = Settings(), dict(os.environ)

    print("Preparing the database…", flush=True)
    upgrade_to_head(settings.resolved_database_url)
    demo = demo_organization(settings)
    sandbox_key = demo.sandbox_key

    stack = Stack()
    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        if embed_temporal:
            temporal = shutil.which("temporal", path=str(bin_dir)) or shutil.which("temporal")
            if temporal is None:
                raise RuntimeError("the `temporal` CLI is missing: run `make install`")
            stack.start(
                "temporal",
                [
                    temporal,
                    "server",
                    "start-dev",
                    "--ip",
                    HOST,
                    "--port",
                    str(dev.temporal_port),
                    "--ui-port",
                    str(dev.temporal_ui_port),
                    "--db-filename",
                    str(data_dir / "temporal.db"),
                    "--namespace",
                    settings.temporal_namespace,
                    "--log-level",
                    "warn",
                    *search_attribute_flags(),
                    *(flag for pragma in TEMPORAL_SQLITE_PRAGMAS for flag in ("--sqlite-pragma", pragma)),
                ],
                env,
                logs,
            )
        if embed_stripe:
            stack.start(
                "localstripe",
                [
                    sys.executable,
                    "-m",
                    "devstack.localstripe_server",
                    "--host",
                    HOST,
                    "--port",
                    str(dev.stripe_port),
                    "--state-file",
                    str(data_dir / "localstripe.pickle"),
                ],
                env,
                logs,
            )
        if embed_smtp:
            stack.start(
                "mailbox",
                [
                    sys.executable,
                    "-m",
                    "devstack.mailbox",
                    "--dir",
                    str(data_dir / "mail"),
                    "--host",
                    HOST,
                    "--smtp-port",
                    str(dev.smtp_port),
                    "--http-port",
                    str(dev.mailbox_port),
                ],
                env,
                logs,
            )
        if embed_temporal:
            wait_for_port(dev.temporal_port, stack)
        for number in range(1, dev.workers + 1):
            stack.start(f"worker-{number}", [sys.executable, "worker.py"], env, logs)
        stack.start(
            "api",
            [
                sys.executable,
                "-m",
                "api.serve",
                "--host",
                HOST,
                "--port",
                str(dev.api_port),
                "--processes",
                str(dev.api_processes),
            ],
            env,
            logs,
        )
        wait_for_http(f"{api_url}/healthz", stack)
        if embed_stripe:
            wait_for_port(dev.stripe_port, stack)
        if embed_smtp:
            wait_for_http(f"http://{HOST}:{dev.mailbox_port}/", stack)

        temporal_ui = f"http://{HOST}:{dev.temporal_ui_port}" if embed_temporal else "(external Temporal)"
        mailbox = f"http://{HOST}:{dev.mailbox_port}" if embed_smtp else f"(SMTP at {settings.smtp_host})"
        print(
            "\ngigcover is running.\n"
            f"  API              {api_url}/api/v1\n"
            f"  API docs         {api_url}/docs\n"
            f"  Temporal UI      {temporal_ui}\n"
            f"  Mailbox          {mailbox}\n"
            f"  Stripe (local)   {settings.stripe_api_base}\n"
            f"  Sandbox API key  {sandbox_key}\n"
            f"  Dashboard        {api_url}/dashboard  (sign in as {demo.admin_email}, "
            f"password {demo.admin_password})\n"
            f"  Contractor portal {api_url}/my  (contractors sign in with a link sent to their email)\n"
            f"  Data and logs    {data_dir}\n\n"
            f"Try:  curl {api_url}/api/v1/category_codes -H 'Authorization: Bearer {sandbox_key}'\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while not stopping:
            stack.restart_dead()
            time.sleep(0.5)
    except RuntimeError as error:
        print(f"\nmake run failed: {error}", file=sys.stderr)
        return 1
    finally:
        print("\nStopping…", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
