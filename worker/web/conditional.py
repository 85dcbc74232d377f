"""HTTP conditional GET and content coding for cached feeds (RFC 9110 sections 13 and 8.4)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response

from worker.web.feedcache import Rendered


def _etags(header: str) -> set[str]:
    # If-None-Match uses the weak comparison: W/"x" matches "x".
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def not_modified(request: Request, rendered: Rendered) -> bool:
    """True when the client's copy is current. If-None-Match wins over If-Modified-Since."""
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = _etags(inm)
        return "*" in tags or rendered.etag in tags or rendered.gzip_etag in tags
    ims = request.headers.get("if-modified-since")
    if ims and rendered.newest is not None:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False  # an unparsable date is ignored (RFC 9110 section 13.1.3)
        return since.tzinfo is not None and rendered.newest <= since
    return False


def _accepts_gzip(request: Request) -> bool:
    for coding in request.headers.get("accept-encoding", "").split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def feed_response(request: Request, rendered: Rendered) -> Response:
    """200 with the cached bytes (gzip when accepted), or 304 without a body."""
    use_gzip = rendered.gzipped is not None and _accepts_gzip(request)
    headers = {
        "ETag": rendered.gzip_etag if use_gzip else rendered.etag,
        "Cache-Control": rendered.cache_control,
        "Vary": "Accept-Encoding",
    }
    if rendered.last_modified:
        headers["Last-Modified"] = rendered.last_modified
    if not_modified(request, rendered):
        return Response(status_code=304, headers=headers)
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
        return Response(rendered.gzipped, media_type=rendered.media_type, headers=headers)
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)
