"""Content-Encoding (gzip, deflate, br) decoded in bounded steps.

httpx would inflate a whole network chunk at once (64 KiB of gzipped zeros is 64 MiB), so the
fetcher reads raw bytes and decodes here, never more than STEP bytes of output per call: a
gzip bomb is cut off at the size cap, not inflated in memory first.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

import brotli

STEP = 64 * 1024  # most output produced by one decompression call


class UnsupportedEncoding(ValueError):
    pass


class CorruptBody(ValueError):
    pass


class Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def flush(self) -> Iterator[bytes]: ...


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Zlib:
    """gzip (also multi-member) and deflate (zlib-wrapped, or raw as some servers send it).

    Bytes after the end of the stream that do not start a further gzip member are ignored,
    as browsers do.
    """

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._wbits = zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS
        self._inflater = zlib.decompressobj(self._wbits)
        self._started = False  # the current stream has decoded some input
        self._members = 0  # complete gzip members seen
        self._done = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data and not self._done:
            try:
                out = self._inflater.decompress(data, STEP)
            except zlib.error as exc:
                if self._members:
                    self._done = True  # trailing junk after a complete member
                    return
                if self._gzip or self._started:
                    raise CorruptBody(f"corrupt {'gzip' if self._gzip else 'deflate'} body: {exc}") from None
                self._wbits = -zlib.MAX_WBITS  # "deflate" without the zlib header
                self._inflater = zlib.decompressobj(self._wbits)
                self._started = True
                continue
            self._started = True
            if out:
                yield out
            if not self._inflater.eof:
                data = self._inflater.unconsumed_tail
                continue
            self._members += 1
            if not self._gzip:
                self._done = True
                return
            data = self._inflater.unused_data
            self._inflater = zlib.decompressobj(self._wbits)

    def flush(self) -> Iterator[bytes]:
        if self._done or self._inflater.eof:
            return
        out = self._inflater.flush()
        if out:
            yield out


class _Brotli:
    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._decompressor.process(data, output_buffer_limit=STEP)
            while True:
                if out:
                    yield out
                if self._decompressor.can_accept_more_data():
                    return
                out = self._decompressor.process(b"", output_buffer_limit=STEP)
        except brotli.error as exc:
            raise CorruptBody(f"corrupt brotli body: {exc}") from None

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Chain:
    """`Content-Encoding: gzip, br` means gzip was applied first: undo br first."""

    def __init__(self, decoders: list[Decoder]) -> None:
        self._decoders = decoders

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, data)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._decoders):
            yield data
            return
        for piece in self._decoders[index].feed(data):
            yield from self._through(index + 1, piece)

    def flush(self) -> Iterator[bytes]:
        for index, decoder in enumerate(self._decoders):
            for piece in decoder.flush():
                yield from self._through(index + 1, piece)


def decoder_for(content_encoding: str | None) -> Decoder:
    names = [n.strip().lower() for n in (content_encoding or "").split(",") if n.strip()]
    decoders: list[Decoder] = []
    for name in reversed(names):
        if name in ("gzip", "x-gzip"):
            decoders.append(_Zlib(gzip=True))
        elif name == "deflate":
            decoders.append(_Zlib(gzip=False))
        elif name == "br":
            decoders.append(_Brotli())
        elif name != "identity":
            raise UnsupportedEncoding(f"unsupported Content-Encoding {name!r}")
    if not decoders:
        return _Identity()
    return decoders[0] if len(decoders) == 1 else _Chain(decoders)
