"""Documents served at unguessable URLs: whoever has the link (a platform, a client, a contractor) can open
it without an API key, as with a certificate shared by email."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import DbSession
from api.errors import ApiError
from documents.issuing import document_store
from services import lookups

router = APIRouter(prefix="/files", tags=["documents"])


@router.get(
    "/{token}/{filename}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The PDF"}},
)
def download_document(token: str, filename: str, request: Request, session: DbSession) -> Response:
    document = lookups.shared_document(session, token, filename)
    if document is None:
        raise ApiError(404, "resource_not_found", "No such document")
    data = document_store(request.app.state.settings).get(document.storage_key)
    return Response(
        data,
        media_type=document.content_type,
        headers={
            "Content-Disposition": f'inline; filename="{document.filename}"',
            "Cache-Control": "private, max-age=3600",
            "X-Robots-Tag": "noindex",
        },
    )
