"""What a file is, from its first bytes (never from its name or the client's Content-Type).

Uploads are accepted only when the detected type is in ``settings.allowed_upload_types``
(PDF, JPEG, PNG, TIFF, HEIC/HEIF by default); anything else (executables, archives, scripts,
office files, ...) is refused with 415.
"""

from __future__ import annotations

# How many leading bytes ``sniff`` needs to decide.
SNIFF_BYTES = 32

EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tiff",
    "image/heic": ".heic",
    "image/heif": ".heif",
}

_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1"}


def sniff(head: bytes) -> str | None:
    """The media type of a file starting with ``head``, or None when it is not one we know."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image/tiff"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _HEIF_BRANDS:
            return "image/heif"
    return None


def allowed_type(head: bytes, allowed: list[str] | tuple[str, ...]) -> str | None:
    """The detected media type if it is allowed, else None."""
    detected = sniff(head)
    return detected if detected is not None and detected in allowed else None


def extension_for(content_type: str) -> str:
    return EXTENSIONS.get(content_type, "")


def describe(allowed: list[str] | tuple[str, ...]) -> str:
    names = {
        "application/pdf": "PDF",
        "image/jpeg": "JPEG",
        "image/png": "PNG",
        "image/tiff": "TIFF",
        "image/heic": "HEIC",
        "image/heif": "HEIF",
    }
    return ", ".join(names.get(t, t) for t in allowed)
