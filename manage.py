"""Operator commands: migrate the database, load the catalog, create organizations and keys.

python manage.py migrate
python manage.py seed
python manage.py create-org "Acme Staffing" [--withhold-premium] [--approve '*' | --approve jc_… ...]
python manage.py approve org_… jc_… [jc_… ...]
python manage.py issue-key org_… sandbox|production
python manage.py create-user org_… someone@example.com [--role admin|operator|finance|viewer] [--name …]
"""

import argparse
import asyncio
import getpass
import os
import sys

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from common import temporal
from common.settings import Settings, get_settings
from db.catalog import seed_catalog
from db.engine import make_engine, make_session_factory
from db.migrate import upgrade_to_head
from db.models import Organization
from db.organizations import PRODUCTION, SANDBOX, create_organization, issue_key
from domain.errors import DomainError
from domain.roles import Role
from outbox.dispatch import Dispatcher
from outbox.records import OutboxItem, committed_items, track_commits
from services import catalog, members
from services.audit import COMMAND_LINE

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
    key_cmd = commands.add_parser("issue-key", help="issue another API key")
    key_cmd.add_argument("organization")
    key_cmd.add_argument("environment", choices=[SANDBOX, PRODUCTION])
    user_cmd = commands.add_parser(
        "create-user", help="create a dashboard member; asks for the password (or reads GIGCOVER_PASSWORD)"
    )
    user_cmd.add_argument("organization")
    user_cmd.add_argument("email")
    user_cmd.add_argument("--role", choices=[r.value for r in Role], default=Role.ADMIN.value)
    user_cmd.add_argument("--name", default="")
    args = parser.parse_args(argv)

    settings = get_settings()
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
        elif args.command == "issue-key":
            if session.get(Organization, args.organization) is None:
                print(f"no such organization: {args.organization}", file=sys.stderr)
                return 1
            key = issue_key(session, args.organization, args.environment)
            session.commit()
            print(key)
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


if __name__ == "__main__":
    sys.exit(main())
