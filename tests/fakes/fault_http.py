"""A small threaded HTTP/1.1 server for the fake GitHub, Discourse and Discord APIs, with fault injection.

A fault matches the next request(s) by method and path pattern and then, instead of (or around) the normal answer:
- `status`: answers `status`/`headers`/`body` without doing anything (a 500, a 429 with Retry-After, ...);
- `status_after`: does the operation, then answers `status` (a 502 from a proxy after the backend created it);
- `slow`: does the operation, then waits `delay` seconds before answering (past the client's timeout);
- `reset_before`: reads the request and resets the connection without doing anything;
- `reset_after`: does the operation, then resets the connection (the client never hears back).
`on_hit(request)` runs once the operation is done (before the answer): the kill -9 tests use it. `when(request)`
narrows a fault to some requests (e.g. the one creating a given issue).
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    time: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serializable, or bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    method: str
    path: str  # a regular expression matched against the whole path
    action: str = "status"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    times: int = 1
    on_hit: Callable[[Request], None] | None = None
    when: Callable[[Request], bool] | None = None  # only requests this accepts (e.g. by body)
    hits: int = 0


class RouteNotFound(Exception):
    pass


class FakeServer:
    """Subclasses implement `handle(request) -> Response` (under `self.lock`) and may override `check_auth`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- life cycle ----------------------------------------------------------------------------------------------

    def start(self) -> FakeServer:
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # ---- faults --------------------------------------------------------------------------------------------------

    def fault(self, method: str, path: str, action: str = "status", **kwargs) -> Fault:
        fault = Fault(method=method.upper(), path=path, action=action, **kwargs)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _take_fault(self, request: Request) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if (
                    fault.times > 0
                    and fault.method == request.method
                    and re.fullmatch(fault.path, request.path)
                    and (fault.when is None or fault.when(request))
                ):
                    fault.times -= 1
                    fault.hits += 1
                    return fault
        return None

    def requests_to(self, method: str, pattern: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    # ---- to implement --------------------------------------------------------------------------------------------

    def check_auth(self, request: Request) -> Response | None:
        return None

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def common_headers(self, request: Request) -> dict[str, str]:
        return {}

    def dispatch(self, request: Request) -> Response:
        denied = self.check_auth(request)
        if denied is not None:
            return denied
        try:
            with self.lock:
                return self.handle(request)
        except RouteNotFound:
            return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        return Response(404, {"message": "Not Found"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeServer

    def log_message(self, format, *args) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without NODELAY, Nagle + delayed ACKs add 40 ms per request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=urllib.parse.unquote(parsed.path),
            query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        with self.fake.lock:
            self.fake.requests.append(request)
        fault = self.fake._take_fault(request)
        if fault and fault.action == "reset_before":
            self._reset()
            return
        if fault and fault.action == "status":
            self._send(Response(fault.status, fault.body, dict(fault.headers)), request)
            return
        response = self.fake.dispatch(request)
        if fault is None:
            self._send(response, request)
            return
        if fault.on_hit is not None:
            fault.on_hit(request)
        if fault.action == "reset_after":
            self._reset()
        elif fault.action == "status_after":
            self._send(Response(fault.status, fault.body, dict(fault.headers)), request)
        elif fault.action == "slow":
            time.sleep(fault.delay)
            self._send(response, request)
        else:
            raise ValueError(f"unknown fault action {fault.action!r}")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def _send(self, response: Response, request: Request) -> None:
        if isinstance(response.body, bytes):
            payload = response.body
            content_type = "application/octet-stream"
        elif response.body is None:
            payload = b""
            content_type = "application/json; charset=utf-8"
        else:
            payload = json.dumps(response.body).encode()
            content_type = "application/json; charset=utf-8"
        try:
            self.send_response(response.status)
            headers = {**self.fake.common_headers(request), **response.headers}
            if payload or response.status != 204:
                headers.setdefault("Content-Type", content_type)
            for name, value in headers.items():
                self.send_header(name, str(value))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _reset(self) -> None:
        """Close with RST: the client sees 'connection reset by peer'."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass


def link_header(url: str, query: dict[str, list[str]], page: int, last: int) -> str:
    """GitHub's pagination `Link` header for `page` of `last`."""

    def at(n: int) -> str:
        params = {k: v[0] for k, v in query.items()}
        params["page"] = str(n)
        return f"<{url}?{urllib.parse.urlencode(params)}>"

    parts = []
    if page < last:
        parts += [f'{at(page + 1)}; rel="next"', f'{at(last)}; rel="last"']
    if page > 1:
        parts += [f'{at(1)}; rel="first"', f'{at(page - 1)}; rel="prev"']
    return ", ".join(parts)
