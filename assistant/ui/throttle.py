"""Failed logins per client and minute, bounded: an ASGI middleware in front of gradio's
`/login` (gradio's `auth` callable is not told who is asking, so the bound sits here).

A client (its address as the server sees it) that failed `limit` times within the last
minute gets HTTP 429 without its password being checked, until the oldest failure is a
minute old. Behind a reverse proxy every client has the proxy's address: the bound is then
shared, which errs on the side of the password.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WINDOW_SECONDS = 60.0
TOO_MANY = "登录失败次数过多，请一分钟后再试。".encode()


class LoginThrottle:
    def __init__(self, app: ASGIApp, limit: int, window: float = WINDOW_SECONDS) -> None:
        self.app = app
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_login(scope):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        if self._blocked(client):
            await _refuse(send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] >= 400:
                    self._failed(client)
                elif message["status"] < 300:
                    self._succeeded(client)
            await send(message)

        await self.app(scope, receive, watch)

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def _blocked(self, client: str) -> bool:
        with self._lock:
            return len(self._recent(client, time.monotonic())) >= self.limit

    def _failed(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(client, now).append(now)
            for other in [c for c, t in self._failures.items() if not t]:
                del self._failures[other]  # clients with no recent failure: forgotten

    def _succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


def _is_login(scope: Scope) -> bool:
    return (
        scope.get("type") == "http"
        and scope.get("method") == "POST"
        and str(scope.get("path", "")).rstrip("/").endswith("/login")
    )


async def _refuse(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"retry-after", b"60"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": TOO_MANY})
