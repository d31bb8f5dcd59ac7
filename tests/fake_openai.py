"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions protocol, with
scripted replies and faults, for driving the `openai` backend end to end.

Each request to /v1/chat/completions takes the next entry of `script` (or `default` when the
script is used up). An entry is a reply text, in which "{n:FIGURE}" becomes the number of the
prompt's passage that contains FIGURE (so a test can cite the right passage without knowing
the retrieval order), or one of the faults in FAULTS.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from assistant.bench.measure import free_port

FAULTS = ("429", "500", "401", "malformed", "cut", "unfinished", "slow", "html")
# What a proxy or a captive portal in front of the server answers: a page, in GBK.
PORTAL = "<html><head><title>上网认证</title></head><body>请先登录上网认证系统</body></html>"
_PLACEHOLDER = re.compile(r"\{n:([^}]+)\}")


@dataclass
class Seen:
    """A request as the server received it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        return "\n".join(m["content"] for m in self.body.get("messages", []))


@dataclass
class FakeOpenAI:
    script: list[str] = field(default_factory=list)
    default: str = "资料中未找到相关内容。"
    slow_seconds: float = 3.0
    models: list[str] = field(default_factory=lambda: ["fake-model"])
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:
                fake.seen.append(Seen(self.path, dict(self.headers), {}))
                data = [{"id": m, "object": "model", "owned_by": "test"} for m in fake.models]
                self._json(200, {"object": "list", "data": data})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                seen = Seen(self.path, dict(self.headers), body)
                fake.seen.append(seen)
                entry = fake.script.pop(0) if fake.script else fake.default
                fake.reply(self, entry, seen)

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(raw)

        self.port = self.port or free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- replies ----------------------------------------------------------------------

    def reply(self, h: Any, entry: str, seen: Seen) -> None:
        stream = bool(seen.body.get("stream"))
        if entry in ("429", "500", "401"):
            message = {"429": "rate limited", "500": "boom", "401": "invalid api key"}[entry]
            h._json(int(entry), {"error": {"message": message, "type": "error", "code": entry}})
            return
        if entry == "slow":
            time.sleep(self.slow_seconds)
            entry = "太慢了"
        if entry == "html":
            self._raw(h, PORTAL.encode("gbk"), "text/html; charset=gbk")
            return
        text = fill(entry, seen.prompt)
        if not stream:
            if entry == "malformed":
                self._raw(h, b'{"id": "x", "choices": [', "application/json")
                return
            h._json(200, completion(text, seen.body.get("model", "")))
            return
        self._stream(h, entry, text)

    def _stream(self, h: Any, entry: str, text: str) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        pieces = [text[i : i + 3] for i in range(0, len(text), 3)] or [""]
        if entry == "malformed":
            _chunk(h, sse(chunk("罗湖")))
            _chunk(h, b"data: {this is not json\n\n")
        elif entry == "cut":
            _chunk(h, sse(chunk("罗湖区")))
            h.wfile.flush()
            # Close the socket without the final chunk: the reply is cut mid-way.
            h.connection.shutdown(socket.SHUT_RDWR)
            h.close_connection = True
            return
        else:
            for piece in pieces:
                _chunk(h, sse(chunk(piece)))
            if entry != "unfinished":  # "unfinished": ends cleanly but never says stop
                _chunk(h, sse(chunk("", finish="stop")))
            _chunk(h, b"data: [DONE]\n\n")
        _chunk(h, b"")

    def _raw(self, h: Any, raw: bytes, content_type: str) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)


def fill(entry: str, prompt: str) -> str:
    """Replace {n:FIGURE} with the number of the passage in the prompt that holds FIGURE."""

    def number(m: re.Match[str]) -> str:
        figure = m.group(1)
        blocks = re.split(r"(?m)^\[(\d+)\] ", prompt)
        for n, body in zip(blocks[1::2], blocks[2::2], strict=True):
            if figure in body:
                return n
        return "99"

    return _PLACEHOLDER.sub(number, entry)


def completion(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def chunk(delta: str, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": delta} if delta else {},
                "finish_reason": finish,
            }
        ],
    }


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


def _chunk(h: Any, data: bytes) -> None:
    """One HTTP/1.1 chunk (an empty one ends the body)."""
    h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    h.wfile.flush()
