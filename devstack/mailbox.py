"""The local SMTP sink: every message is kept in a Maildir and shown on a small web page.

python -m devstack.mailbox --dir .data/mail --smtp-port 1025 --http-port 8025
"""

import argparse
import mailbox
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, PlainTextResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(default=True)
).get_template("mailbox.html")


def _summary(key: str, msg: Message) -> dict[str, str]:
    return {
        "key": key,
        "subject": msg.get("Subject", "(no subject)"),
        "sender": msg.get("From", ""),
        "to": msg.get("To", ""),
        "date": msg.get("Date", ""),
    }


def _part(msg: Message, subtype: str) -> str:
    for part in msg.walk():
        if part.get_content_type() == f"text/{subtype}":
            payload = part.get_payload(decode=True)
            return payload.decode(part.get_content_charset() or "utf-8", "replace") if payload else ""
    return ""


def create_viewer(directory: Path) -> FastAPI:
    box = mailbox.Maildir(directory, factory=lambda f: mailbox.MaildirMessage(f), create=True)
    app = FastAPI(title="gigcover mailbox", docs_url=None, redoc_url=None)

    def load(key: str) -> mailbox.MaildirMessage:
        try:
            return box[key]
        except KeyError:
            raise HTTPException(404, "no such message") from None

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        items = sorted(((m.get_date(), k, m) for k, m in box.items()), key=lambda t: t[0], reverse=True)
        return PAGES.render(messages=[_summary(k, m) for _, k, m in items])

    @app.get("/api/messages")
    def list_json() -> list[dict[str, str]]:
        return [{**_summary(k, m), "text": _part(m, "plain")} for k, m in box.items()]

    @app.get("/messages/{key}.eml", response_class=PlainTextResponse)
    def raw(key: str) -> str:
        return load(key).as_string(policy=default_policy)

    @app.get("/messages/{key}", response_class=HTMLResponse)
    def show(key: str) -> str:
        msg = load(key)
        return PAGES.render(
            message={**_summary(key, msg), "text": _part(msg, "plain"), "html": _part(msg, "html")}
        )

    return app


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, default=Path(".data/mail"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    args = parser.parse_args()
    for sub in ("cur", "new", "tmp"):
        (args.dir / sub).mkdir(parents=True, exist_ok=True)
    smtp = Controller(Mailbox(args.dir), hostname=args.host, port=args.smtp_port)
    smtp.start()
    try:
        uvicorn.run(create_viewer(args.dir), host=args.host, port=args.http_port, log_level="warning")
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()
