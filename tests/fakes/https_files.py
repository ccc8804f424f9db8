"""A local HTTPS file server with a self-signed certificate (made with openssl), as a model hub would serve a file:
`serve_https({"/model.gguf": path_or_bytes}, redirects={"/old": "http://…"})` yields (origin, CA file)."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serve_https(
    files: dict[str, Path | bytes], folder: Path, redirects: dict[str, str] | None = None
) -> Iterator[tuple[str, Path]]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    moved = redirects or {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path in moved:
                self.send_response(302)
                self.send_header("Location", moved[self.path])
                self.end_headers()
                return
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            size = len(body) if isinstance(body, bytes) else body.stat().st_size
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if isinstance(body, bytes):
                self.wfile.write(body)
            else:
                with open(body, "rb") as f:
                    shutil.copyfileobj(f, self.wfile, 1 << 20)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert
    finally:
        server.shutdown()
        server.server_close()
