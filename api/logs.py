"""What the logs may hold: never passwords, password hashes, tokens, ID or phone numbers, or
search terms. Every handler of ours and uvicorn's gets a filter that drops query strings from
access lines and masks what looks like a secret or a personal number in any line; SQL
parameters never reach a log at all (the engine hides them: api/wiring.py). Operators can ask
for one JSON object per line (FENGQIAO_LOG_FORMAT=json)."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

__all__ = ["JsonFormatter", "RedactingFilter", "configure_logging", "redact"]

_PATTERNS = [
    (re.compile(r"\$argon2[a-z]*\$[^\s'\",)]+"), "[密码哈希已隐去]"),
    (re.compile(r"\bv1\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"), "[令牌已隐去]"),
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1[令牌已隐去]"),
    (re.compile(r"(?i)(password[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"), r"\1[已隐去]"),
    (
        re.compile(r"(?<!\d)\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{5}[\dXx](?!\d)"),
        "[身份证号已隐去]",
    ),
    (re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)"), "[手机号已隐去]"),
]
_ACCESS_LOGGERS = ("uvicorn.access",)
_OUR_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler")


def redact(text: str) -> str:
    """`text` with secrets and personal numbers masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record into its redacted, already formatted message. An access line
    keeps its arguments (redacted, the query dropped): uvicorn's access formatter reads them
    by position."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name in _ACCESS_LOGGERS and isinstance(args, tuple) and len(args) == 5:
            # uvicorn's line: (client, method, full path, http version, status); its format
            # is fixed, its values are redacted and the path loses its query
            path = args[2].split("?", 1)[0] if isinstance(args[2], str) else args[2]
            record.args = tuple(
                redact(a) if isinstance(a, str) else a for a in (*args[:2], path, *args[3:])
            )
        else:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                message = str(record.msg)
            record.msg = redact(message)
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str = "text") -> None:
    """Put the filter (and, for "json", the formatter) on every handler there is now."""
    seen: set[int] = set()
    for name in _OUR_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if id(handler) in seen:
                continue
            seen.add(id(handler))
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
            if log_format == "json":
                handler.setFormatter(JsonFormatter())
