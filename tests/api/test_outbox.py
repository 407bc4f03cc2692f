"""Notifications are delivered at least once: a failing webhook receiver on loopback is
retried with backoff until it recovers, signatures verify, and dead letters can be retried."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socketserver
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from api.outbox import OutboxDispatcher, WebhookSender, backoff, build_senders, signature
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from tests.world import World

SECRET = "s3cret"


class Receiver:
    """A webhook endpoint that fails `failures` times, then accepts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = 503 if receiver.failures > 0 else 204
                receiver.failures -= 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(failures=2) as running:
        yield running


def _notify(engine: MediationEngine, world: World) -> int:
    """A real notification: a police report queues one in the same transaction."""
    case = engine.open_case(world.intake(), world.actors["mediator"])
    engine.fire(
        case.case_id,
        "report_police",
        world.actors["mediator"],
        case.version,
        {"station": "枫桥派出所", "summary": "可能激化"},
    )
    return case.case_id


def _status(engine: MediationEngine) -> list[tuple[str, int]]:
    with engine.db.transaction(write=False) as tx:
        return [(str(r[0]), int(r[1])) for r in tx.all("SELECT status, attempts FROM outbox")]


def test_failing_receiver_is_retried_with_backoff_until_it_recovers(
    engine: MediationEngine, world: World, clock: FixedClock, receiver: Receiver
) -> None:
    case_id = _notify(engine, world)
    dispatcher = OutboxDispatcher(engine.db, [WebhookSender(receiver.url, SECRET)])
    first = dispatcher.deliver_due(clock.now())
    assert (first.delivered, first.retrying) == (0, 1)
    assert "503" in first.errors[0]
    assert dispatcher.deliver_due(clock.now()).retrying == 0  # not due again before the backoff
    clock.set(clock.now() + backoff(1))
    assert dispatcher.deliver_due(clock.now()).retrying == 1
    clock.set(clock.now() + backoff(2))
    assert dispatcher.deliver_due(clock.now()).delivered == 1
    assert _status(engine) == [("delivered", 3)]
    assert dispatcher.deliver_due(clock.now() + timedelta(days=1)).delivered == 0  # once only
    headers, body = receiver.received[-1]
    expected = signature(SECRET, headers["X-Fengqiao-Timestamp"], body)
    assert hmac.compare_digest(headers["X-Fengqiao-Signature"], expected)
    message = json.loads(body)
    assert (message["kind"], message["case_id"], message["recipient"]) == (
        "police_report",
        case_id,
        "枫桥派出所",
    )
    assert message["title"] == "矛盾纠纷报告公安机关"
    assert len({h["X-Fengqiao-Delivery"] for h, _ in receiver.received}) == 1  # one id to dedupe


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = b'{"a":1}'
    digest = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature(SECRET, "1700000000", body) == f"sha256={digest}"


def test_dead_letter_after_max_attempts_then_operator_retry_delivers(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    _notify(engine, world)
    with Receiver(failures=3) as receiver:
        dispatcher = OutboxDispatcher(
            engine.db, [WebhookSender(receiver.url, SECRET)], max_attempts=2
        )
        dispatcher.deliver_due(clock.now())
        clock.set(clock.now() + timedelta(hours=2))
        report = dispatcher.deliver_due(clock.now())
        assert report.dead == 1
        assert _status(engine) == [("dead", 2)]
        clock.set(clock.now() + timedelta(days=7))
        assert dispatcher.deliver_due(clock.now()).delivered == 0  # dead stays dead
        listing = dispatcher.listing("dead")
        assert [row["kind"] for row in listing] == ["police_report"]
        assert "503" in (listing[0]["last_error"] or "")
        assert dispatcher.retry(clock.now()) == 1
        dispatcher.deliver_due(clock.now())  # the receiver's third failure
        clock.set(clock.now() + backoff(1))
        assert dispatcher.deliver_due(clock.now()).delivered == 1


def test_unreachable_receiver_is_an_error_not_a_crash(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    _notify(engine, world)
    dispatcher = OutboxDispatcher(engine.db, [WebhookSender("http://127.0.0.1:9/none", SECRET)])
    report = dispatcher.deliver_due(clock.now())
    assert report.retrying == 1
    assert "webhook" in report.errors[0]


def test_a_message_no_sender_accepts_waits_with_a_reason(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    _notify(engine, world)
    report = OutboxDispatcher(engine.db, []).deliver_due(clock.now())
    assert report.retrying == 1
    assert "没有可投递" in report.errors[0]


class MailSink:
    """Just enough SMTP on loopback to receive one message per connection."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 sink\r\n")
                data: list[bytes] = []
                in_data = False
                for line in self.rfile:
                    if in_data:
                        if line == b".\r\n":
                            sink.messages.append(b"".join(data))
                            in_data = False
                            self.wfile.write(b"250 queued\r\n")
                        else:
                            data.append(line)
                        continue
                    verb = line[:4].upper()
                    if verb == b"DATA":
                        in_data = True
                        self.wfile.write(b"354 go on\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_routed_recipients_get_e_mail_and_the_rest_the_webhook(
    engine: MediationEngine, world: World, clock: FixedClock, receiver: Receiver
) -> None:
    sink = MailSink()
    try:
        senders = build_senders(
            webhook_url=receiver.url,
            webhook_secret=SECRET,
            smtp_host="127.0.0.1",
            smtp_port=sink.port,
            mail_from="fengqiao@example.org",
            email_routes={"supervisor": "duban@example.org"},
        )
        receiver.failures = 0
        case = engine.open_case(world.intake(), world.actors["mediator"])
        with engine.db.transaction(write=True) as tx:
            for recipient in ("supervisor", "court:1"):
                tx.add_outbox(
                    case_id=case.case_id,
                    kind="overdue",
                    recipient=recipient,
                    payload={"number": "（2026）枫源调字第0001号"},
                    now=clock.now(),
                )
        report = OutboxDispatcher(engine.db, senders).deliver_due(clock.now())
    finally:
        sink.close()
    assert report.delivered == 2
    assert len(sink.messages) == 1
    mail = email.message_from_bytes(sink.messages[0], policy=email.policy.default)
    assert mail["To"] == "duban@example.org"
    assert "案件超期督办" in str(mail["Subject"])
    assert [json.loads(body)["recipient"] for _, body in receiver.received] == ["court:1"]


def test_a_webhook_without_a_secret_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        build_senders(
            webhook_url="http://127.0.0.1:1/",
            webhook_secret=None,
            smtp_host=None,
            smtp_port=25,
            mail_from="x@example.org",
            email_routes={},
        )
