"""A local HTTP server for the download tests: serves a folder, honours Range, logs every request."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class FileServer:
    """``url(name)`` of a file in ``root``; ``requests`` holds (path, Range header or None) per GET."""

    root: Path
    port: int
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    honour_range: bool = True

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


def _handler(server_state: FileServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            name = self.path.lstrip("/").split("?", 1)[0]
            range_header = self.headers.get("Range")
            server_state.requests.append((name, range_header))
            path = server_state.root / name
            if not path.is_file():
                self.send_error(404, "not found")
                return
            data = path.read_bytes()
            start = 0
            if range_header and server_state.honour_range:
                start = int(range_header.removeprefix("bytes=").split("-", 1)[0])
                if start >= len(data):
                    self.send_error(416, "range not satisfiable")
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self.wfile.write(data[start:])

        def log_message(self, *args) -> None:  # keep the test output quiet
            pass

    return Handler


@pytest.fixture
def file_server(tmp_path) -> Iterator[FileServer]:
    """Serve ``tmp_path / "served"`` on a free local port for the duration of a test."""
    root = tmp_path / "served"
    root.mkdir()
    state = FileServer(root=root, port=0)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
