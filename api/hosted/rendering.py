"""What every hosted page shares: its templates, and answers no cache keeps."""

from pathlib import Path

from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

NO_STORE = {"Cache-Control": "no-store"}  # personal data; and Back must ask the server, not a cache
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)
