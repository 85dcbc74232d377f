"""Rendered feeds kept in memory, keyed by what was asked and by the articles' version.

A 200 then costs one cheap version query and a dictionary lookup instead of a render, and the
gzip body is compressed once per version instead of once per request. Any write that changes
what a feed shows changes `feed_queries.articles_version`, so a stale entry is never served.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from worker.publish import FeedDocument

GZIP_MIN_BYTES = 1024  # below this, gzip's header costs more than it saves


@dataclass(frozen=True)
class Rendered:
    body: bytes
    gzipped: bytes | None
    etag: str  # strong: a hash of the served bytes, which depend only on the items
    last_modified: str | None  # HTTP date of the newest item's update
    newest: datetime | None
    media_type: str
    cache_control: str

    @property
    def gzip_etag(self) -> str:
        # A strong validator must differ between content codings (RFC 9110 section 8.8.3).
        return self.etag[:-1] + '-gzip"'

    @classmethod
    def of(cls, doc: FeedDocument, media_type: str) -> Rendered:
        body = doc.body
        gzipped = gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
        newest = doc.newest.replace(microsecond=0) if doc.newest else None
        return cls(
            body=body, gzipped=gzipped,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            last_modified=format_datetime(newest, usegmt=True) if newest else None,
            newest=newest, media_type=media_type,
            # Archive pages are complete; the head changes as articles arrive.
            cache_control="public, max-age=86400" if doc.archive else "public, max-age=300",
        )


class RenderCache:
    """A small LRU of Rendered by request key; an entry is valid only for its version."""

    def __init__(self, max_entries: int = 512) -> None:
        self._entries: OrderedDict[Hashable, tuple[Hashable, Rendered]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, key: Hashable, version: Hashable) -> Rendered | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != version:
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key: Hashable, version: Hashable, rendered: Rendered) -> None:
        with self._lock:
            self._entries[key] = (version, rendered)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
