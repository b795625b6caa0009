"""A TCP listening socket standing in for an Ethernet indicator or a sorter's event port.

Same ``read``/``write`` interface as ``PtyPort``: the agent connects with ``socket://127.0.0.1:<port>``.
One client at a time (like most device servers); a new connection replaces the old one. Writes with no
client connected are dropped, as a device's output is when nobody listens.
"""

from __future__ import annotations

import select
import socket
import threading


class TcpServerPort:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._listener = socket.create_server((host, port))
        self._listener.setblocking(False)
        self.host, self.port = self._listener.getsockname()[:2]
        self.url = f"socket://{self.host}:{self.port}"
        self._client: socket.socket | None = None
        self._lock = threading.Lock()

    def _accept(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        conn.setblocking(True)
        with self._lock:
            if self._client is not None:
                self._client.close()
            self._client = conn

    def read(self, timeout: float) -> bytes:
        self._accept()
        client = self._client
        if client is None:
            if timeout > 0:
                select.select([self._listener], [], [], timeout)
            return b""
        ready, _, _ = select.select([client], [], [], timeout)
        if not ready:
            return b""
        try:
            data = client.recv(4096)
        except OSError:
            data = b""
        if not data:
            self.drop_client()
        return data

    def write(self, data: bytes) -> None:
        self._accept()
        client = self._client
        if client is None:
            return
        try:
            client.sendall(data)
        except OSError:
            self.drop_client()

    def drop_client(self) -> None:
        """Close the current connection (fault injection: the device resets its socket)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def close(self) -> None:
        self.drop_client()
        self._listener.close()
