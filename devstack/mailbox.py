"""The local SMTP sink: every message is kept in a Maildir and shown on a small web page.

python -m devstack.mailbox --dir .data/mail --smtp-port 1025 --http-port 8025
"""

import argparse
import mailbox
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, PlainTextResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(default=True)
).get_template("mailbox.html")


def _header(msg: EmailMessage, name: str, default: str = "") -> str:
    """A header as a person reads it: RFC 2047 words decoded and folding undone (email.policy.default)."""
    value = msg.get(name)
    return " ".join(str(value).split()) if value is not None else default


def _read(box: mailbox.Maildir, key: str) -> EmailMessage:
    """A message as delivered, parsed with ``email.policy.default`` (which decodes and unfolds headers)."""
    message = message_from_bytes(box.get_bytes(key), policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def _summary(key: str, msg: EmailMessage) -> dict[str, str]:
    return {
        "key": key,
        "subject": _header(msg, "Subject", "(no subject)"),
        "sender": _header(msg, "From"),
        "to": _header(msg, "To"),
        "date": _header(msg, "Date"),
    }


def _part(msg: EmailMessage, subtype: str) -> str:
    """The message's body of that type (text/plain or text/html), decoded as a mail client shows it."""
    part = msg.get_body((subtype,))
    if part is None:
        return ""
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError):  # an unknown or lying charset
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _headers(msg: EmailMessage) -> list[tuple[str, str]]:
    """Every header in order, decoded; one that cannot be parsed is shown as it came."""
    shown = []
    for name, raw in msg.raw_items():
        try:
            value = str(msg.policy.header_fetch_parse(name, raw))
        except Exception:  # a malformed header must not hide the message
            value = str(raw)
        shown.append((name, " ".join(value.split())))
    return shown


def _message(key: str, msg: EmailMessage) -> dict[str, Any]:
    return {
        **_summary(key, msg),
        "text": _part(msg, "plain"),
        "html": _part(msg, "html"),
        "headers": _headers(msg),
    }


def start_smtp(directory: Path, host: str, port: int) -> Controller:
    """The SMTP server that delivers every message into the Maildir ``directory``; started."""
    for sub in ("cur", "new", "tmp"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    smtp = Controller(Mailbox(directory), hostname=host, port=port)
    smtp.start()
    return smtp


def create_viewer(directory: Path) -> FastAPI:
    box = mailbox.Maildir(directory, create=True)
    app = FastAPI(title="gigcover mailbox", docs_url=None, redoc_url=None)

    def load(key: str) -> EmailMessage:
        try:
            return _read(box, key)
        except KeyError:
            raise HTTPException(404, "no such message") from None

    def newest_first() -> list[tuple[str, EmailMessage]]:
        delivered = {key: box.get_message(key).get_date() for key in box.iterkeys()}  # Maildir's time
        return [(key, _read(box, key)) for key in sorted(delivered, key=delivered.__getitem__, reverse=True)]

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return PAGES.render(messages=[_summary(k, m) for k, m in newest_first()])

    @app.get("/api/messages")
    def list_json() -> list[dict[str, str]]:
        """Every message, newest first, with its decoded headers and text part."""
        return [{**_summary(k, m), "text": _part(m, "plain")} for k, m in newest_first()]

    @app.get("/api/messages/{key}")
    def show_json(key: str) -> dict[str, Any]:
        """One message: decoded headers, its text and HTML parts and every header."""
        return _message(key, load(key))

    @app.get("/messages/{key}.eml", response_class=PlainTextResponse)
    def raw(key: str) -> str:
        """The message exactly as it was delivered."""
        try:
            return box.get_bytes(key).decode("utf-8", "replace")
        except KeyError:
            raise HTTPException(404, "no such message") from None

    @app.get("/messages/{key}", response_class=HTMLResponse)
    def show(key: str) -> str:
        return PAGES.render(message=_message(key, load(key)))

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
    smtp = start_smtp(args.dir, args.host, args.smtp_port)
    try:
        uvicorn.run(create_viewer(args.dir), host=args.host, port=args.http_port, log_level="warning")
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()
