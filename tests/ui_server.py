"""Running the web UI inside a test: a free port on 127.0.0.1, and a guard that records any
connection or name lookup leaving the machine while it runs."""

from __future__ import annotations

import os
import sys

# The test's own client must not reach the Hub either (gradio_client builds Hugging Face
# headers, which look up a registry online unless offline); set before it is imported.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
if "huggingface_hub" in sys.modules:
    sys.modules["huggingface_hub"].constants.HF_HUB_OFFLINE = True

import socket
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import Config
from tests.fake_openai import FakeOpenAI, _chunk, chunk, free_port, sse

LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0", ""}
LONG_ANSWER = (
    "罗湖区2019年投入产业转型升级扶持资金6.6亿元[{n:6.6亿元}]。" + "这笔资金用于扶持企业。" * 12
)


def ui_config(cfg: Config, data_dir: Path, **llm: Any) -> Config:
    """`cfg` with its own feedback folder and, unless told otherwise, the extractive backend."""
    paths = cfg.paths.model_copy(update={"data_dir": data_dir})
    # facts_first off: the page's generator tests need the model asked for figure questions
    settings = cfg.llm.model_copy(update={"backend": "extractive", "facts_first": False, **llm})
    return cfg.model_copy(update={"paths": paths, "llm": settings})


class OutboundGuard:
    """Records every socket connect and name lookup aimed anywhere but this machine."""

    def __init__(self) -> None:
        self.outbound: list[str] = []
        self.stacks: list[str] = []  # where each one came from, for the failure message

    def _check(self, address: Any) -> None:
        if isinstance(address, tuple) and address:
            host = str(address[0])
            if host not in LOCAL_HOSTS and not host.startswith("127."):
                self.outbound.append(f"{host}:{address[1] if len(address) > 1 else ''}")
                self.stacks.append("".join(traceback.format_stack(limit=25)))

    def __enter__(self) -> OutboundGuard:
        self._connect = socket.socket.connect
        self._connect_ex = socket.socket.connect_ex
        self._getaddrinfo = socket.getaddrinfo
        guard = self

        def connect(sock: socket.socket, address: Any) -> Any:
            guard._check(address)
            return guard._connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> Any:
            guard._check(address)
            return guard._connect_ex(sock, address)

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            guard._check((host, port))
            return guard._getaddrinfo(host, port, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        socket.socket.connect = self._connect  # type: ignore[method-assign]
        socket.socket.connect_ex = self._connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = self._getaddrinfo  # type: ignore[assignment]


@contextmanager
def running_ui(cfg: Config, port: int | None = None) -> Iterator[str]:
    """Serve the UI for `cfg` on 127.0.0.1 (on `port`, or a free one); yields its URL."""
    from assistant.ui.app import launch

    demo, url = launch(cfg, host="127.0.0.1", port=port or free_port(), block=False)
    try:
        yield url
    finally:
        demo.close()


def new_client(url: str, **kwargs: Any) -> Any:
    """A gradio_client for `url` that sends no analytics and asks the Hub nothing."""
    from gradio_client import Client

    return Client(url, analytics_enabled=False, verbose=False, **kwargs)


def message_text(message: dict[str, Any]) -> str:
    """A chat message's text, whichever form gradio returns it in."""
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


@dataclass
class SlowFake(FakeOpenAI):
    """The fake OpenAI server, streaming its pieces `delay` seconds apart (a long answer)."""

    delay: float = 0.0

    def _stream(self, h: Any, entry: str, text: str) -> None:
        if not self.delay:
            super()._stream(h, entry, text)
            return
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        try:
            for i in range(0, len(text), 3):
                _chunk(h, sse(chunk(text[i : i + 3])))
                h.wfile.flush()
                time.sleep(self.delay)
            _chunk(h, sse(chunk("", finish="stop")))
            _chunk(h, b"data: [DONE]\n\n")
            _chunk(h, b"")
        except OSError:
            pass  # the reader went away (the user pressed stop)
