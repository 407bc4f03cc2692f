"""Deliver the outbox: HMAC-signed webhooks and SMTP e-mail, at least once, with backoff.

The engine writes a message in the same transaction as the event that caused it; this module
runs after commit (from the scheduler tick or `fengqiao outbox retry`). A message is claimed
with a lease, sent, then marked delivered; a crash after sending re-sends it after the lease,
so receivers deduplicate on the `X-Fengqiao-Delivery` id. After `max_attempts` failures the
message is dead-lettered until an operator retries it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from engine.repository import Database
from engine.repository.outbox import OutboxMessage

log = logging.getLogger(__name__)

KIND_LABELS = {
    "overdue": "案件超期督办",
    "visit_due": "回访到期",
    "visit_overdue": "回访逾期",
    "court_reminder": "司法确认期限提醒",
    "confirmation_window_closing": "司法确认申请期限即将届满",
    "confirmation_applied": "收到司法确认申请",
    "confirmation_ruled": "司法确认裁定",
    "referral_outcome": "委派调解结果",
    "police_report": "矛盾纠纷报告公安机关",
    "audit_checkpoint": "审计链签名检查点",
}


# a message claimed for delivery, as the repository reads it
OutboxItem = OutboxMessage


def delivery_body(item: OutboxItem) -> dict[str, Any]:
    """What a webhook receives for one message (signed, see `signature`)."""
    return {
        "id": item.id,
        "kind": item.kind,
        "title": KIND_LABELS.get(item.kind, item.kind),
        "recipient": item.recipient,
        "case_id": item.case_id,
        "payload": item.payload,
        "created_at": item.created_at.isoformat(),
    }


class DeliveryError(Exception):
    """A sender could not deliver; the message will be retried."""


class Sender(Protocol):
    def accepts(self, item: OutboxItem) -> bool: ...
    def send(self, item: OutboxItem) -> None: ...


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` over "timestamp.body": what receivers recompute to trust a webhook."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookSender:
    """POSTs every message as JSON, signed with the shared secret."""

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.client = httpx.Client(timeout=timeout)

    def accepts(self, item: OutboxItem) -> bool:
        del item
        return True

    def send(self, item: OutboxItem) -> None:
        body = json.dumps(delivery_body(item), ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(item.created_at.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Fengqiao-Delivery": str(item.id),
            "X-Fengqiao-Timestamp": timestamp,
            "X-Fengqiao-Signature": signature(self.secret, timestamp, body),
        }
        try:
            response = self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"webhook: HTTP {response.status_code}")


class EmailSender:
    """Sends the messages whose recipient has an address in the routing table."""

    def __init__(self, host: str, port: int, sender: str, routes: Mapping[str, str]) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.routes = dict(routes)

    def accepts(self, item: OutboxItem) -> bool:
        return item.recipient in self.routes

    def send(self, item: OutboxItem) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = self.routes[item.recipient]
        title = KIND_LABELS.get(item.kind, item.kind)
        number = item.payload.get("number", "")
        message["Subject"] = f"【枫桥】{title} {number}".strip()
        lines = [f"{title}", f"案件：{number}" if number else ""]
        lines += [f"{key}: {value}" for key, value in sorted(item.payload.items())]
        message.set_content("\n".join(line for line in lines if line))
        try:
            with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from exc


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … doubling, at most an hour between tries."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


class OutboxDispatcher:
    """Claims due messages and hands each to the first sender that accepts it."""

    def __init__(
        self,
        database: Database,
        senders: Sequence[Sender],
        *,
        max_attempts: int = 8,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self.db = database
        self.senders = list(senders)
        self.max_attempts = max_attempts
        self.lease = lease

    def deliver_due(self, now: datetime, *, limit: int = 100) -> DeliveryReport:
        report = DeliveryReport()
        for item in self._claim(now, limit):
            sender = next((s for s in self.senders if s.accepts(item)), None)
            try:
                if sender is None:
                    raise DeliveryError(f"没有可投递“{item.recipient}”的渠道")
                sender.send(item)
            except DeliveryError as exc:
                dead = item.attempts >= self.max_attempts
                self._failed(item, now, str(exc), dead=dead)
                report.errors.append(f"#{item.id}: {exc}")
                if dead:
                    report.dead += 1
                else:
                    report.retrying += 1
                continue
            self._delivered(item, now)
            report.delivered += 1
        return report

    def _claim(self, now: datetime, limit: int) -> list[OutboxItem]:
        with self.db.transaction(write=True) as tx:
            claimed = tx.claim_outbox(now, now + self.lease, limit)
        return claimed

    def _delivered(self, item: OutboxItem, now: datetime) -> None:
        with self.db.transaction(write=True) as tx:
            tx.mark_delivered(item.id, now)

    def _failed(self, item: OutboxItem, now: datetime, error: str, *, dead: bool) -> None:
        with self.db.transaction(write=True) as tx:
            tx.mark_failed(
                item.id, dead=dead, next_attempt_at=now + backoff(item.attempts), error=error[:2000]
            )

    def retry(self, now: datetime, message_ids: Sequence[int] | None = None) -> int:
        """Give dead messages (or the ones named) a fresh set of attempts, due now."""
        with self.db.transaction(write=True) as tx:
            return tx.retry_outbox(now, message_ids)

    def listing(self, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Messages for operators, newest first."""
        with self.db.transaction(write=False) as tx:
            entries = tx.outbox_entries(status, limit)
        return [asdict(entry) for entry in entries]


def build_senders(
    *,
    webhook_url: str | None,
    webhook_secret: str | None,
    smtp_host: str | None,
    smtp_port: int,
    mail_from: str,
    email_routes: Mapping[str, str],
) -> list[Sender]:
    """E-mail first for the recipients it has addresses for, then the webhook for the rest."""
    senders: list[Sender] = []
    if smtp_host and email_routes:
        senders.append(EmailSender(smtp_host, smtp_port, mail_from, email_routes))
    if webhook_url:
        if not webhook_secret:
            raise ValueError("FENGQIAO_WEBHOOK_SECRET is required with FENGQIAO_WEBHOOK_URL")
        senders.append(WebhookSender(webhook_url, webhook_secret))
    return senders
