"""Operator commands: migrate the database, load the catalog, create organizations and keys.

python manage.py migrate
python manage.py seed
python manage.py create-org "Acme Staffing" [--withhold-premium] [--approve '*' | --approve jc_… ...]
python manage.py approve org_… jc_… [jc_… ...]
python manage.py pending-reviews               (applications waiting for an underwriter)
python manage.py review-application ias_… approve|decline [--reason TEXT]
python manage.py issue-key org_… sandbox|production [--name …]
python manage.py list-keys org_… [sandbox|production]
python manage.py rename-key ak_… "new name"
python manage.py roll-key ak_… [--expires-in-hours 24]   (the old key works that long; 0: stops at once)
python manage.py revoke-key ak_…
python manage.py new-encryption-key          (prints a key for GIGCOVER_ENCRYPTION_KEYS)
python manage.py rotate-secrets              (re-encrypts stored secrets under the first encryption key)
python manage.py create-user org_… someone@example.com [--role admin|operator|finance|viewer] [--name …]
"""

import argparse
import asyncio
import getpass
import os
import sys
import time

import anyio.to_thread
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common import encryption
from common.settings import Settings, get_settings
from db.catalog import seed_catalog
from db.engine import make_engine, make_session_factory
from db.migrate import upgrade_to_head
from db.models import ApiKey, Organization
from db.sealed import reseal_all
from domain.api_keys import PRODUCTION, SANDBOX
from domain.errors import DomainError, unavailable
from domain.roles import Role
from integrations import temporal
from notifications.render import datetime_utc
from outbox.dispatch import Dispatcher
from outbox.records import OutboxItem, committed_items, track_commits
from services import api_keys, applications, catalog, members
from services.audit import COMMAND_LINE
from services.organization import create_organization
from services.workflow_calls import WorkflowCalls

TEMPORAL_CONNECT_SECONDS = 10


def deliver(settings: Settings, factory: sessionmaker[Session], items: list[OutboxItem]) -> None:
    """Start the delivery workflows of what a command committed (the outbox sweep starts any it cannot)."""

    async def start() -> None:
        try:
            client = await asyncio.wait_for(temporal.connect(settings), TEMPORAL_CONNECT_SECONDS)
        except Exception as error:
            print(f"Temporal is unreachable ({error}); the outbox sweep will deliver them", file=sys.stderr)
            return
        await Dispatcher(client, settings, factory, asyncio.get_running_loop()).dispatch(items)

    if items:
        asyncio.run(start())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="manage.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the database schema to the newest revision")
    commands.add_parser("seed", help="load (upsert) the job category catalog and rates from data/")
    create = commands.add_parser("create-org", help="create an organization and print its API keys")
    create.add_argument("name")
    create.add_argument("--withhold-premium", action="store_true", help="bill the organization by default")
    create.add_argument("--billing-contact-name")
    create.add_argument("--billing-contact-email")
    create.add_argument("--approve", nargs="*", default=["*"], help="job category ids or codes; '*' = all")
    approve_cmd = commands.add_parser("approve", help="approve job categories for an organization")
    approve_cmd.add_argument("organization")
    approve_cmd.add_argument("categories", nargs="+")
    add_review_commands(commands)
    add_key_commands(commands)
    user_cmd = commands.add_parser(
        "create-user", help="create a dashboard member; asks for the password (or reads GIGCOVER_PASSWORD)"
    )
    user_cmd.add_argument("organization")
    user_cmd.add_argument("email")
    user_cmd.add_argument("--role", choices=[r.value for r in Role], default=Role.ADMIN.value)
    user_cmd.add_argument("--name", default="")
    args = parser.parse_args(argv)

    settings = get_settings()
    if args.command == "new-encryption-key":
        print(encryption.new_key())
        return 0
    encryption.install(settings)
    url = settings.resolved_database_url
    upgrade_to_head(url)
    if args.command == "migrate":
        print("database is at the newest schema")
        return 0
    engine = make_engine(url)
    factory = track_commits(make_session_factory(engine))
    with factory() as session:
        if args.command == "seed":
            print(f"catalog loaded: {seed_catalog(session)} rates")
        elif args.command == "create-org":
            seed_catalog(session)
            made = create_organization(
                session,
                args.name,
                withhold_premium=args.withhold_premium,
                billing_contact_name=args.billing_contact_name,
                billing_contact_email=args.billing_contact_email,
                approve_categories=args.approve,
            )
            print(f"organization: {made.organization.id} ({made.organization.name})")
            print(f"sandbox key:    {made.sandbox_key}")
            print(f"production key: {made.production_key}")
            print("Keep the keys now: only their hashes are stored.")
        elif args.command == "approve":
            try:
                approved = catalog.approve_categories(session, args.organization, args.categories)
            except DomainError as refused:
                print(refused.message, file=sys.stderr)
                return 1
            session.commit()
            print("approved: " + (", ".join(approved) or "nothing (no category matched)"))
            deliver(settings, factory, committed_items(session))  # category_code.added
        elif args.command in KEY_COMMANDS:
            return run_key_command(session, settings, args)
        elif args.command in REVIEW_COMMANDS:
            return run_review_command(settings, factory, args)
        elif args.command == "create-user":
            return _create_user(session, args)
    engine.dispose()
    return 0


def _create_user(session: Session, args: argparse.Namespace) -> int:
    if session.get(Organization, args.organization) is None:
        print(f"no such organization: {args.organization}", file=sys.stderr)
        return 1
    password = os.environ.get("GIGCOVER_PASSWORD") or getpass.getpass("Password (12 characters or more): ")
    try:
        body = members.NewMember(email=args.email, name=args.name, role=Role(args.role))
        member = members.create_member(session, args.organization, body, password, COMMAND_LINE)
    except (DomainError, ValidationError) as error:
        print(f"not created: {error}", file=sys.stderr)
        return 1
    session.commit()
    print(f"member {member.id}: {member.email} ({member.role}); sign in at /dashboard/sign-in")
    return 0


# API keys and stored secrets ----------------------------------------------------------------------------

KEY_COMMANDS = ("issue-key", "list-keys", "rename-key", "roll-key", "revoke-key", "rotate-secrets")


def add_key_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    issue = commands.add_parser("issue-key", help="issue another API key (shown once)")
    issue.add_argument("organization")
    issue.add_argument("environment", choices=[SANDBOX, PRODUCTION])
    issue.add_argument("--name", default="", help="what the key is for")
    listing = commands.add_parser("list-keys", help="an organization's API keys, newest first")
    listing.add_argument("organization")
    listing.add_argument("environment", nargs="?", choices=[SANDBOX, PRODUCTION])
    rename = commands.add_parser("rename-key", help="rename an API key")
    rename.add_argument("key_id", metavar="ak_…")
    rename.add_argument("name")
    roll = commands.add_parser(
        "roll-key", help="replace an API key (the new one is shown once); the old one works for a while"
    )
    roll.add_argument("key_id", metavar="ak_…")
    roll.add_argument("--expires-in-hours", type=int, default=api_keys.DEFAULT_ROLL_HOURS)
    revoke = commands.add_parser("revoke-key", help="stop an API key at once")
    revoke.add_argument("key_id", metavar="ak_…")
    commands.add_parser("new-encryption-key", help="print a new key for GIGCOVER_ENCRYPTION_KEYS")
    commands.add_parser(
        "rotate-secrets", help="re-encrypt every stored secret under the first GIGCOVER_ENCRYPTION_KEYS key"
    )


def _key_line(row: ApiKey) -> str:
    used = time.strftime("%Y-%m-%d %H:%M", time.gmtime(row.last_used_at)) if row.last_used_at else "never"
    return (
        f"{row.public_id}  {row.environment:<10}  {api_keys.status_of(row):<8}  {row.key_hint}  "
        f"last used {used}  {row.name}"
    )


def run_key_command(session: Session, settings: Settings, args: argparse.Namespace) -> int:
    """The key commands, through services.api_keys (each change in the audit log as manage.py)."""
    if args.command == "rotate-secrets":
        try:
            written = reseal_all(session.connection(), encryption.box_for(settings))
        except encryption.UnreadableSecret as unreadable:
            print(f"nothing re-encrypted: {unreadable}", file=sys.stderr)
            return 1
        session.commit()
        print(f"re-encrypted {written} stored secrets under the first key of GIGCOVER_ENCRYPTION_KEYS")
        return 0
    try:
        if args.command == "issue-key":
            issued = api_keys.create_key(
                session, args.organization, COMMAND_LINE, args.environment, args.name
            )
            print(issued.key)
        elif args.command == "list-keys":
            if session.get(Organization, args.organization) is None:
                print(f"no such organization: {args.organization}", file=sys.stderr)
                return 1
            for row in api_keys.list_keys(session, args.organization, args.environment):
                print(_key_line(row))
        else:
            key = session.scalar(select(ApiKey).where(ApiKey.public_id == args.key_id))
            if key is None:
                print(f"no such API key: {args.key_id}", file=sys.stderr)
                return 1
            owner = key.organization_id
            if args.command == "rename-key":
                print(_key_line(api_keys.rename_key(session, owner, COMMAND_LINE, args.key_id, args.name)))
            elif args.command == "revoke-key":
                print(_key_line(api_keys.revoke_key(session, owner, COMMAND_LINE, args.key_id)))
            elif args.command == "roll-key":
                hours = args.expires_in_hours
                issued = api_keys.roll_key(session, owner, COMMAND_LINE, args.key_id, hours)
                print(f"new key {issued.row.public_id} (shown once): {issued.key}")
                print(
                    f"the old key {args.key_id} works for {hours} more hours"
                    if hours
                    else "the old key stopped"
                )
    except DomainError as refused:
        print(refused.message, file=sys.stderr)
        return 1
    return 0


REVIEW_COMMANDS = ("pending-reviews", "review-application")


def add_review_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    commands.add_parser("pending-reviews", help="applications waiting for an underwriter, with their answers")
    review = commands.add_parser(
        "review-application", help="an underwriter's decision on an application under manual review"
    )
    review.add_argument("session", help="the application (ias_…)")
    review.add_argument("decision", choices=["approve", "decline"])
    review.add_argument("--reason", help="why; shown to the contractor and the platform when declined")


def run_review_command(settings: Settings, factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    if args.command == "pending-reviews":
        with factory() as session:
            waiting = applications.under_review(session)
            for row in waiting:
                answers = ", ".join(f"{k} {v}" for k, v in sorted((row.answers or {}).items()))
                print(f"{row.id}  {row.organization_id} {row.environment}  since {datetime_utc(row.created)}")
                print(f"    {answers}")
        print(f"{len(waiting)} waiting for a review")
        return 0
    try:
        body = applications.ReviewIn(decision=args.decision, reason=args.reason)
    except ValidationError as error:
        print(error.errors()[0]["msg"], file=sys.stderr)
        return 1

    async def decide() -> tuple[str, str]:
        try:
            client = await asyncio.wait_for(temporal.connect(settings), TEMPORAL_CONNECT_SECONDS)
        except Exception as error:  # nothing was decided: the underwriter can run the command again
            raise unavailable(f"Temporal is unreachable at {settings.temporal_address}: {error}") from None

        def send() -> tuple[str, str]:  # in a worker thread, as the API's routes call workflows
            with factory() as session:
                tenant = applications.tenant_of_application(session, args.session)
                workflows = WorkflowCalls(client)
                row = applications.review_application(
                    session, tenant, args.session, body, workflows, COMMAND_LINE
                )
                return row.status, row.step

        return await anyio.to_thread.run_sync(send)

    try:
        status, step = asyncio.run(decide())
    except DomainError as refused:
        print(refused.message, file=sys.stderr)
        return 1
    print(f"{args.session}: {status}, at {step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
