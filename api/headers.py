"""Security headers on every response, whatever route or error made it: a Content Security
Policy allowing only this origin's scripts and styles (no inline script) and no framing, no
MIME sniffing, no referrer; and `Cache-Control: no-store` on everything under /api (tokens,
party details, documents) unless a route chose its own."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "SecurityHeadersMiddleware", "security_headers"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_ALWAYS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def security_headers(path: str) -> dict[str, str]:
    """The headers every response from `path` carries (for responses made outside the
    middleware: the last-resort 500 handler runs beyond it)."""
    headers = {"Content-Security-Policy": CSP, **_ALWAYS}
    if path.startswith("/api/"):
        headers["Cache-Control"] = "no-store"
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = str(scope.get("path", "")).startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                policy = headers.get("Content-Security-Policy")
                if policy is None:
                    headers["Content-Security-Policy"] = CSP
                elif "frame-ancestors" not in policy:  # a page's own, stricter policy
                    headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'"
                for name, value in _ALWAYS.items():
                    if name not in headers:
                        headers[name] = value
                if private and "Cache-Control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
