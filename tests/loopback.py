"""Loopback HTTP servers speaking the OpenAI and Ollama chat protocols, for tests.

The real client libraries (``openai``/``langchain-openai`` over ``httpx2``, ``ollama``/
``langchain-ollama`` over ``httpx``) are pointed at these servers, so transports that
respx cannot intercept are still exercised end to end without leaving 127.0.0.1.

Example::

    with OpenAIServer(faults=[Fault.http(500), None]) as srv:
        llm = ChatOpenAI(model="gpt-4o", base_url=srv.url, api_key="sk-test", max_retries=1)
        llm.invoke("hi")  # first attempt gets a 500, the retry succeeds
        assert srv.count == 2

Only the standard library is used. Each server runs ``ThreadingHTTPServer`` on an
ephemeral port in a daemon thread; ``stop()`` is fast even while handlers sleep.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import socketserver
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self, TypedDict
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_OLLAMA_MODELS",
    "DEFAULT_OPENAI_MODELS",
    "Fault",
    "FaultFn",
    "FaultPolicy",
    "LoopbackServer",
    "OllamaServer",
    "OpenAIServer",
    "RecordedRequest",
    "ReplyFn",
    "always",
    "default_reply",
    "first_n",
    "last_user_text",
    "prompt_words",
    "refused_url",
    "word_count",
]

JSONDict = dict[str, Any]
ReplyFn = Callable[[JSONDict], str]
"""Computes the assistant reply text from the decoded request body."""

DEFAULT_OPENAI_MODELS: tuple[str, ...] = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini")
DEFAULT_OLLAMA_MODELS: tuple[str, ...] = (
    "llama3:8b",
    "llama3.1:8b",
    "llama3.2:1b",
    "qwen2.5:7b",
    "mistral:7b",
)

_WORD = re.compile(r"\S+")
_PIECE = re.compile(r"\s*\S+")


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour applied to a single chat request.

    Fields combine in this order: ``delay`` (sleep first), then ``drop``, ``body``,
    ``status``; ``content``/``finish_reason`` only shape an otherwise normal reply.
    """

    status: int | None = None
    """HTTP error status to answer with, using the protocol's JSON error body."""
    retry_after: float | str | None = None
    """Value of the ``Retry-After`` header sent with ``status``."""
    message: str | None = None
    """Error message for ``status``; a protocol-typical one by default."""
    delay: float = 0.0
    """Seconds to sleep before answering (interrupted by ``stop()``)."""
    drop: bool = False
    """Close the connection without sending any response."""
    rst: bool = True
    """With ``drop``: send a TCP RST (connection reset) rather than a plain FIN."""
    body: bytes | None = None
    """Raw response body sent as-is with status 200 (or ``status`` if given)."""
    content: str | None = None
    """Override of the assistant reply text (``""`` for an empty reply)."""
    finish_reason: str | None = None
    """Override of ``finish_reason`` (OpenAI) / ``done_reason`` (Ollama)."""

    @classmethod
    def http(
        cls, status: int, message: str | None = None, *, retry_after: float | None = None
    ) -> Fault:
        """An HTTP error reply with a protocol-correct error body."""
        return cls(status=status, message=message, retry_after=retry_after)

    @classmethod
    def rate_limit(cls, retry_after: float | str | None = 1) -> Fault:
        """A 429 reply carrying a ``Retry-After`` header."""
        return cls(status=429, retry_after=retry_after)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """A normal reply that only starts after ``seconds`` (for client timeouts)."""
        return cls(delay=seconds)

    @classmethod
    def reset(cls) -> Fault:
        """Drop the connection with a TCP RST and no response."""
        return cls(drop=True, rst=True)

    @classmethod
    def hangup(cls) -> Fault:
        """Close the connection cleanly (FIN) without a response."""
        return cls(drop=True, rst=False)

    @classmethod
    def garbage(cls, body: bytes = b"<html><body>502 Bad Gateway</body></html>") -> Fault:
        """A 200 reply whose body is not the expected JSON."""
        return cls(body=body)

    @classmethod
    def empty(cls) -> Fault:
        """A well-formed reply with empty assistant content."""
        return cls(content="")

    @classmethod
    def truncated(cls, content: str | None = None) -> Fault:
        """A reply cut off by the token limit (``finish_reason="length"``)."""
        return cls(content=content, finish_reason="length")


FaultFn = Callable[[int, JSONDict], Fault | None]
"""Fault policy: ``(n, body) -> Fault | None`` where ``n`` is the 1-based chat request number."""
FaultPolicy = Sequence[Fault | None] | FaultFn | None
"""A list consumed one entry per chat request (then normal), a ``FaultFn``, or ``None``."""


def always(fault: Fault) -> FaultFn:
    """Policy applying ``fault`` to every chat request."""
    return lambda _n, _body: fault


def first_n(n: int, fault: Fault) -> FaultFn:
    """Policy applying ``fault`` to the first ``n`` chat requests, then answering normally."""
    return lambda k, _body: fault if k <= n else None


# --------------------------------------------------------------------------- helpers


class RecordedRequest(TypedDict):
    """One request as logged by a server."""

    method: str
    path: str
    query: str
    json: Any
    headers: dict[str, str]
    time: float


def word_count(text: str) -> int:
    """Number of whitespace-separated words in ``text`` (the loopback token count)."""
    return len(_WORD.findall(text))


def _text_of(content: Any) -> str:
    """Plain text of a message ``content`` (a string or a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in content]
        return " ".join(str(p) for p in parts)
    return "" if content is None else str(content)


def _messages(body: JSONDict) -> list[JSONDict]:
    """The ``messages`` list of a chat body, tolerating junk."""
    msgs = body.get("messages")
    return [m for m in msgs if isinstance(m, dict)] if isinstance(msgs, list) else []


def last_user_text(body: JSONDict) -> str:
    """Text of the last ``user`` message of a chat body ("" when there is none)."""
    for msg in reversed(_messages(body)):
        if msg.get("role") == "user":
            return _text_of(msg.get("content"))
    return ""


def prompt_words(body: JSONDict) -> int:
    """Deterministic prompt token count: words over all message contents."""
    return sum(word_count(_text_of(m.get("content"))) for m in _messages(body))


def default_reply(body: JSONDict) -> str:
    """Deterministic reply text derived from the last user message."""
    prompt = " ".join(last_user_text(body).split())[:40]
    return f"Reply to: {prompt}. This is a deterministic loopback answer. It exists only for tests."


def _pieces(text: str) -> list[str]:
    """Split ``text`` into word-sized stream chunks that concatenate back to ``text``."""
    pieces = _PIECE.findall(text)
    tail = text[len("".join(pieces)) :]
    if tail:
        pieces.append(tail)
    return pieces or [text]


def _iso_now() -> str:
    """Current UTC time in Ollama's ``created_at`` format."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def refused_url(path: str = "") -> str:
    """A loopback URL with nothing listening (connections are refused), plus ``path``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


# --------------------------------------------------------------------------- plumbing


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer tied to its owning ``LoopbackServer``."""

    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog of 5 drops SYNs when many clients connect at once,
    # and each dropped SYN costs the client a one-second retransmit.
    request_queue_size = 256

    def __init__(self, owner: LoopbackServer) -> None:
        self.owner = owner
        self.active: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        """Bind without the reverse-DNS lookup ``HTTPServer.server_bind`` performs."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        """Track the connection so ``stop()`` can unblock its handler."""
        if isinstance(request, socket.socket):
            with self.owner._lock:
                self.active.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        """Forget the connection, then close it."""
        if isinstance(request, socket.socket):
            with self.owner._lock:
                self.active.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Record handler exceptions instead of printing tracebacks."""
        exc = sys.exc_info()[1]
        if exc is not None:
            self.owner._record_error(exc)


class _Handler(BaseHTTPRequestHandler):
    """Request handler delegating to the owning ``LoopbackServer``."""

    protocol_version = "HTTP/1.1"
    # Streamed replies are many small writes: without TCP_NODELAY each waits on delayed ACKs.
    disable_nagle_algorithm = True
    server: _HTTPServer
    server_version = "loopback/1.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging."""

    def do_GET(self) -> None:
        """Dispatch a GET."""
        self.server.owner._dispatch(self, "GET")

    def do_POST(self) -> None:
        """Dispatch a POST."""
        self.server.owner._dispatch(self, "POST")

    def do_HEAD(self) -> None:
        """Dispatch a HEAD."""
        self.server.owner._dispatch(self, "HEAD")

    def read_body(self) -> bytes:
        """Read the request body (Content-Length or chunked)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _connection_headers(self) -> None:
        """Send ``Connection: close`` unless the owner keeps connections alive."""
        if not self.server.owner.keep_alive:
            self.send_header("Connection", "close")
            self.close_connection = True

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send a complete response with Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self._connection_headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        """Send ``obj`` as a JSON response."""
        self.send_bytes(status, json.dumps(obj).encode(), "application/json", headers)

    def begin_chunked(self, content_type: str, headers: dict[str, str] | None = None) -> None:
        """Start a 200 response with chunked transfer encoding."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self._connection_headers()
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        """Write one chunk of a chunked response."""
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunked(self) -> None:
        """Terminate a chunked response."""
        self.wfile.write(b"0\r\n\r\n")

    def drop(self, rst: bool) -> None:
        """Close the connection without a response (RST when ``rst``)."""
        self.close_connection = True
        conn = self.connection
        with contextlib.suppress(OSError):
            if rst:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.rfile.close()  # drop makefile's reference so close() is real
                conn.close()
            else:
                conn.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------------------- servers


class LoopbackServer:
    """Base of the loopback protocol servers: lifecycle, request log and fault scripting.

    Constructor arguments (all keyword-only, all also plain attributes changeable live):
    ``reply`` computes the reply text from the request body (default ``default_reply``);
    ``latency`` seconds to sleep before every chat answer; ``faults`` the ``FaultPolicy``;
    ``models`` listed by the models endpoint (default ``default_models``);
    ``strict_models`` answers 404 for chat requests naming an unlisted model; ``api_key``
    requires ``Authorization: Bearer <api_key>`` on every request (401 otherwise, not
    counted as a chat request); ``keep_alive`` keeps connections open between requests
    (default: every response carries ``Connection: close`` so clients hold no sockets).
    """

    chat_path: ClassVar[str] = ""
    default_models: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        reply: ReplyFn | None = None,
        latency: float = 0.0,
        faults: FaultPolicy = None,
        models: Sequence[str] | None = None,
        strict_models: bool = False,
        api_key: str | None = None,
        keep_alive: bool = False,
    ) -> None:
        """Configure the server; call ``start()`` or use it as a context manager."""
        self.reply: ReplyFn = reply or default_reply
        self.latency = latency
        self.models: list[str] = list(self.default_models if models is None else models)
        self.strict_models = strict_models
        self.api_key = api_key
        self.keep_alive = keep_alive
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._requests: list[RecordedRequest] = []
        self._models_seen: list[str] = []
        self._errors: list[BaseException] = []
        self._count = 0
        self._in_flight = 0
        self._max_concurrent = 0
        self._faults: FaultPolicy = None
        self._fault_queue: deque[Fault | None] = deque()
        self.faults = faults

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Bind 127.0.0.1 on an ephemeral port and serve in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        self._stopping.clear()
        httpd = _HTTPServer(self)
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"{type(self).__name__}:{httpd.server_port}",
            daemon=True,
        )
        self._httpd, self._thread = httpd, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, interrupt sleeping handlers and close every socket."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            live = list(httpd.active)
        for conn in live:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is started."""
        return self._httpd is not None

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._httpd.server_port

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT`` without any API prefix."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Base URL to hand to the client library."""
        return self.origin

    # ---------------------------------------------------------------- scripting

    @property
    def faults(self) -> FaultPolicy:
        """The fault policy; assigning a list (re)starts its queue."""
        return self._faults

    @faults.setter
    def faults(self, policy: FaultPolicy) -> None:
        with self._lock:
            self._faults = policy
            queued = [] if policy is None or callable(policy) else list(policy)
            self._fault_queue = deque(queued)

    def _next_fault(self, n: int, body: JSONDict) -> Fault | None:
        """The fault for chat request ``n`` according to the policy."""
        with self._lock:
            policy = self._faults
            if not callable(policy):
                return self._fault_queue.popleft() if self._fault_queue else None
        return policy(n, body)

    # ---------------------------------------------------------------- request log

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_bodies(self) -> list[JSONDict]:
        """JSON bodies of the chat requests received, oldest first."""
        return [
            r["json"]
            for r in self.requests
            if r["path"] == self.chat_path and isinstance(r["json"], dict)
        ]

    @property
    def count(self) -> int:
        """Number of chat requests received (including faulted ones)."""
        with self._lock:
            return self._count

    @property
    def in_flight(self) -> int:
        """Chat requests being handled right now."""
        with self._lock:
            return self._in_flight

    @property
    def max_concurrent(self) -> int:
        """Peak number of chat requests handled at the same time."""
        with self._lock:
            return self._max_concurrent

    @property
    def models_seen(self) -> list[str]:
        """The ``model`` of each chat request, in arrival order (duplicates kept)."""
        with self._lock:
            return list(self._models_seen)

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised inside handlers (e.g. a client hanging up mid-reply)."""
        with self._lock:
            return list(self._errors)

    def reset_log(self) -> None:
        """Clear the request log and counters (not the fault policy)."""
        with self._lock:
            self._requests.clear()
            self._models_seen.clear()
            self._errors.clear()
            self._count = self._max_concurrent = 0

    def _record_error(self, exc: BaseException) -> None:
        """Remember a handler exception."""
        with self._lock:
            self._errors.append(exc)

    # ---------------------------------------------------------------- handling

    def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless stopping; False when interrupted by ``stop()``."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)

    def _dispatch(self, h: _Handler, method: str) -> None:
        """Log a request, then route it."""
        parts = urlsplit(h.path)
        raw = h.read_body()
        parsed: Any = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        record: RecordedRequest = {
            "method": method,
            "path": parts.path,
            "query": parts.query,
            "json": parsed,
            "headers": {k.lower(): v for k, v in h.headers.items()},
            "time": time.time(),
        }
        with self._lock:
            self._requests.append(record)
        if self.api_key is not None:
            auth = h.headers.get("Authorization", "")
            if auth != f"Bearer {self.api_key}":
                self._send_error(h, Fault(status=401))
                return
        if method == "POST" and parts.path == self.chat_path:
            self._serve_chat(h, parsed)
        else:
            self._serve_other(h, method, parts.path, parsed)

    def _serve_chat(self, h: _Handler, body: Any) -> None:
        """Answer one chat request, applying latency and the fault policy."""
        model = str(body.get("model", "")) if isinstance(body, dict) else ""
        with self._lock:
            self._count += 1
            n = self._count
            self._models_seen.append(model)
            self._in_flight += 1
            self._max_concurrent = max(self._max_concurrent, self._in_flight)
        try:
            if not isinstance(body, dict):
                self._send_error(h, Fault(status=400, message="request body is not a JSON object"))
                return
            fault = self._next_fault(n, body)
            delay = self.latency + (fault.delay if fault else 0.0)
            if not self._pause(delay):
                h.drop(rst=True)
                return
            if fault is not None:
                if fault.drop:
                    h.drop(rst=fault.rst)
                    return
                if fault.body is not None:
                    h.send_bytes(fault.status or 200, fault.body, "application/json")
                    return
                if fault.status is not None:
                    self._send_error(h, fault)
                    return
            if self.strict_models and model not in self.models:
                self._send_error(h, Fault(status=404, message=self._missing_model_message(model)))
                return
            if fault is not None and fault.content is not None:
                text = fault.content
            else:
                try:
                    text = self.reply(body)
                except Exception as exc:
                    self._record_error(exc)
                    self._send_error(h, Fault(status=500, message=f"reply callable raised {exc!r}"))
                    return
            finish = (fault.finish_reason if fault else None) or "stop"
            self._send_chat(h, body, n, text, finish)
        finally:
            with self._lock:
                self._in_flight -= 1

    # ---------------------------------------------------------------- protocol hooks

    def _serve_other(self, h: _Handler, method: str, path: str, body: Any) -> None:
        """Answer a non-chat request."""
        self._send_error(h, Fault(status=404, message=f"loopback: no route for {method} {path}"))

    def _send_error(self, h: _Handler, fault: Fault) -> None:
        """Send ``fault.status`` with the protocol's error body."""
        raise NotImplementedError

    def _send_chat(self, h: _Handler, body: JSONDict, n: int, text: str, finish: str) -> None:
        """Send a successful chat reply."""
        raise NotImplementedError

    def _missing_model_message(self, model: str) -> str:
        """Error message for an unknown model under ``strict_models``."""
        return f"model {model!r} not found"

    @staticmethod
    def _retry_headers(fault: Fault) -> dict[str, str]:
        """``Retry-After`` header for ``fault``, if any."""
        if fault.retry_after is None:
            return {}
        value = fault.retry_after
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return {"Retry-After": str(value)}


class OpenAIServer(LoopbackServer):
    """Loopback OpenAI API: ``POST /v1/chat/completions`` and ``GET /v1/models``."""

    chat_path = "/v1/chat/completions"
    default_models = DEFAULT_OPENAI_MODELS

    _ERROR_KINDS: ClassVar[dict[int, tuple[str, str | None, str]]] = {
        400: ("invalid_request_error", None, "Invalid request."),
        401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
        403: ("permission_denied", "unsupported_country_region_territory", "Forbidden."),
        404: ("invalid_request_error", "model_not_found", "The model does not exist."),
        409: ("invalid_request_error", None, "Conflict."),
        422: ("invalid_request_error", None, "Unprocessable entity."),
        429: ("requests", "rate_limit_exceeded", "Rate limit reached. Please try again later."),
        500: ("server_error", None, "The server had an error while processing your request."),
        502: ("server_error", None, "Bad gateway."),
        503: ("server_error", None, "The engine is currently overloaded."),
        504: ("server_error", None, "Gateway timeout."),
    }

    @property
    def url(self) -> str:
        """Base URL ending in ``/v1`` (for ``OPENAI_BASE_URL`` / ``base_url=``)."""
        return f"{self.origin}/v1"

    def _missing_model_message(self, model: str) -> str:
        """OpenAI's wording for an unknown model."""
        return f"The model `{model}` does not exist or you do not have access to it."

    def _send_error(self, h: _Handler, fault: Fault) -> None:
        """Send ``{"error": {"message", "type", "param", "code"}}``."""
        status = fault.status or 500
        kind, code, message = self._ERROR_KINDS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None, "")
        )
        if not message:
            with contextlib.suppress(ValueError):
                message = HTTPStatus(status).phrase
        err = {"message": fault.message or message, "type": kind, "param": None, "code": code}
        headers = {"x-request-id": f"req_loopback_{self.count}", **self._retry_headers(fault)}
        h.send_json(status, {"error": err}, headers)

    def _serve_other(self, h: _Handler, method: str, path: str, body: Any) -> None:
        """``GET /v1/models`` and ``GET /v1/models/{id}``."""
        if method in ("GET", "HEAD") and path == "/v1/models":
            data = [self._model_obj(m) for m in self.models]
            h.send_json(200, {"object": "list", "data": data})
        elif method in ("GET", "HEAD") and path.startswith("/v1/models/"):
            model = path.removeprefix("/v1/models/")
            if model in self.models:
                h.send_json(200, self._model_obj(model))
            else:
                self._send_error(h, Fault(status=404, message=self._missing_model_message(model)))
        else:
            msg = f"Unknown request URL: {method} {path}."
            h.send_json(
                404,
                {
                    "error": {
                        "message": msg,
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "unknown_url",
                    }
                },
            )

    @staticmethod
    def _model_obj(model: str) -> JSONDict:
        """One entry of the models list."""
        return {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "loopback"}

    def _send_chat(self, h: _Handler, body: JSONDict, n: int, text: str, finish: str) -> None:
        """Send a ``chat.completion`` or an SSE stream of ``chat.completion.chunk``."""
        model = str(body.get("model", ""))
        usage = {
            "prompt_tokens": prompt_words(body),
            "completion_tokens": word_count(text),
            "total_tokens": prompt_words(body) + word_count(text),
        }
        ident = f"chatcmpl-loopback-{n}"
        created = int(time.time())
        headers = {"x-request-id": f"req_loopback_{n}", "openai-processing-ms": "1"}
        if not body.get("stream"):
            reply = {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_loopback",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text, "refusal": None},
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
                "usage": usage,
            }
            h.send_json(200, reply, headers)
            return
        stream_options = body.get("stream_options")
        include_usage = isinstance(stream_options, dict) and bool(
            stream_options.get("include_usage")
        )

        def chunk(delta: JSONDict, reason: str | None, choices: bool = True) -> bytes:
            """One SSE event."""
            obj: JSONDict = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_loopback",
                "choices": (
                    [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}]
                    if choices
                    else []
                ),
            }
            if include_usage:
                obj["usage"] = None if choices else usage
            return b"data: " + json.dumps(obj).encode() + b"\n\n"

        h.begin_chunked("text/event-stream; charset=utf-8", headers)
        h.write_chunk(chunk({"role": "assistant", "content": "", "refusal": None}, None))
        for piece in _pieces(text) if text else []:
            h.write_chunk(chunk({"content": piece}, None))
        h.write_chunk(chunk({}, finish))
        if include_usage:
            h.write_chunk(chunk({}, None, choices=False))
        h.write_chunk(b"data: [DONE]\n\n")
        h.end_chunked()


class OllamaServer(LoopbackServer):
    """Loopback Ollama API: ``POST /api/chat``, ``GET /api/tags``, ``GET /api/version``."""

    chat_path = "/api/chat"
    default_models = DEFAULT_OLLAMA_MODELS
    version = "0.9.0"

    _ERROR_MESSAGES: ClassVar[dict[int, str]] = {
        400: "invalid request",
        401: "unauthorized",
        404: "model not found, try pulling it first",
        429: "too many requests",
        500: "llama runner process has terminated: exit status 2",
        502: "bad gateway",
        503: "server busy, please try again. maximum pending requests exceeded",
    }

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (for ``OLLAMA_HOST`` / ``base_url=``)."""
        return self.origin

    def _missing_model_message(self, model: str) -> str:
        """Ollama's wording for an unknown model."""
        return f'model "{model}" not found, try pulling it first'

    def _send_error(self, h: _Handler, fault: Fault) -> None:
        """Send ``{"error": "..."}``."""
        status = fault.status or 500
        message = fault.message or self._ERROR_MESSAGES.get(status, f"error {status}")
        h.send_json(status, {"error": message}, self._retry_headers(fault))

    def _serve_other(self, h: _Handler, method: str, path: str, body: Any) -> None:
        """``GET /``, ``/api/tags``, ``/api/version``, ``/api/ps`` and ``POST /api/show``."""
        if method in ("GET", "HEAD") and path == "/":
            h.send_bytes(200, b"Ollama is running", "text/plain; charset=utf-8")
        elif method in ("GET", "HEAD") and path == "/api/tags":
            h.send_json(200, {"models": [self._model_obj(m) for m in self.models]})
        elif method in ("GET", "HEAD") and path == "/api/ps":
            h.send_json(200, {"models": []})
        elif method in ("GET", "HEAD") and path == "/api/version":
            h.send_json(200, {"version": self.version})
        elif method == "POST" and path == "/api/show":
            name = (
                str(body.get("model") or body.get("name") or "") if isinstance(body, dict) else ""
            )
            if name in self.models or not self.strict_models:
                obj = self._model_obj(name)
                info = {"modelfile": "", "parameters": "", "template": "{{ .Prompt }}"}
                h.send_json(
                    200, {**info, "details": obj["details"], "capabilities": ["completion"]}
                )
            else:
                self._send_error(h, Fault(status=404, message=self._missing_model_message(name)))
        else:
            h.send_bytes(404, b"404 page not found", "text/plain")

    @staticmethod
    def _model_obj(name: str) -> JSONDict:
        """One entry of ``/api/tags``."""
        digest = hashlib.sha256(name.encode()).hexdigest()
        return {
            "name": name,
            "model": name,
            "modified_at": "2024-01-01T00:00:00Z",
            "size": 4_661_224_676,
            "digest": digest,
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "8.0B",
                "quantization_level": "Q4_0",
            },
        }

    def _send_chat(self, h: _Handler, body: JSONDict, n: int, text: str, finish: str) -> None:
        """Send one JSON object, or NDJSON lines when ``stream`` is true (the default)."""
        model = str(body.get("model", ""))
        prompt_n, completion_n = prompt_words(body), word_count(text)
        final: JSONDict = {
            "model": model,
            "created_at": _iso_now(),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": finish,
            "total_duration": 1_000_000 * (1 + completion_n),
            "load_duration": 100_000,
            "prompt_eval_count": prompt_n,
            "prompt_eval_duration": 100_000 * (1 + prompt_n),
            "eval_count": completion_n,
            "eval_duration": 1_000_000 * completion_n,
        }
        if body.get("stream", True) is False:
            final["message"]["content"] = text
            h.send_json(200, final)
            return
        h.begin_chunked("application/x-ndjson")
        for piece in _pieces(text) if text else []:
            line = {
                "model": model,
                "created_at": _iso_now(),
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
            h.write_chunk(json.dumps(line).encode() + b"\n")
        h.write_chunk(json.dumps(final).encode() + b"\n")
        h.end_chunked()
