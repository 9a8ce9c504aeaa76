"""Reading an uploaded file part for a service, shared by the API's and the hosted pages' upload routes."""

from fastapi import UploadFile

from services.certificates import MAX_CERTIFICATE_BYTES, UploadedFile


def read_certificate_part(certificate: UploadFile | str | None) -> UploadedFile | None:
    """The file part as the service checks it: a plain form value is no file. Reads one byte more than the
    limit, so an oversized file is refused without being read whole."""
    if certificate is None or isinstance(certificate, str):
        return None
    data = certificate.file.read(MAX_CERTIFICATE_BYTES + 1)
    return UploadedFile(certificate.filename or "", certificate.content_type or "", data)
