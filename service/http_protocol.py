"""uvicorn's HTTP protocol with each response handed to the socket in one write.

uvicorn writes a response's status line and headers when the app sends
``http.response.start`` and its body when the app sends ``http.response.body``: two ``send``
syscalls for every answer, where the second is most of the cost of a small response on
loopback (measured: the two writes were ~16 % of bcsd's CPU per CreateJob). The protocol here
is uvicorn's own (httptools when installed, else h11), given a transport that holds a write
until the next one and hands both over together: the headers leave with the first body
message. Nothing is buffered beyond that one write, so flow control (uvicorn pauses the app
when the socket's buffer is full) still sees every byte at the next write, and a write nothing
follows in the same loop iteration (a HEAD answer, a streamed response waiting for its next
chunk, ``100 Continue``) is handed over at the end of that iteration. Closing hands over what
is held first; aborting drops it, as the socket would.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol


class HeldWriteTransport:
    """A transport that joins each write with the one after it (or hands it over alone at the
    end of the loop iteration); everything else is the socket transport's own."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            if data:
                self._held = bytes(data)
                self._loop.call_soon(self._hand_over)
            return
        self._held = None
        if data:
            self._transport.writelines((held, data))
        else:
            self._transport.write(held)

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def _hand_over(self) -> None:
        """The end of the loop iteration a write was held in: nothing joined it, send it alone."""
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self._hand_over()
        self._transport.close()

    def write_eof(self) -> None:
        self._hand_over()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        # is_closing, get_extra_info, pause_reading, resume_reading, set_protocol, …
        return getattr(self._transport, name)


class OneWriteHttpProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP/1.1 protocol (``http=`` of ``uvicorn.Config``) over a ``HeldWriteTransport``."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(HeldWriteTransport(transport, self.loop))  # type: ignore[arg-type]
