"""The tick: APScheduler calls it in `fengqiao serve` and in `fengqiao worker`.

Each tick picks up holiday data added to the calendar folder (recomputing provisional due
dates), fires the due timers and delivers the outbox. Ticks never overlap within a process,
and the rows they claim keep any number of processes from doing the same work twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from api.authz import forget_revoked_sessions
from api.checkpoints import Checkpointer, load_signing_key

if TYPE_CHECKING:
    from api.services.case_file import CaseFileService
from api.outbox import DeliveryReport, OutboxDispatcher, build_senders
from api.settings import Settings
from api.wiring import load_calendar
from engine.errors import CalendarDataError
from engine.timers import TickReport, TimerService
from mediation.engine import MediationEngine

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TickSummary:
    timers: TickReport
    outbox: DeliveryReport | None
    calendar_reloaded: bool
    moved_timers: int


class Ticker:
    """One tick's work; safe to call from several threads or processes at once."""

    def __init__(
        self,
        engine: MediationEngine,
        *,
        timers: TimerService,
        dispatcher: OutboxDispatcher | None,
        calendar_dir: Path,
        checkpointer: Checkpointer | None = None,
        checkpoint_every: timedelta = timedelta(minutes=10),
        archiver: Callable[[frozenset[int]], tuple[list[int], list[int]]] | None = None,
    ) -> None:
        self.engine = engine
        self.timers = timers
        self.dispatcher = dispatcher
        self.calendar_dir = calendar_dir
        self.checkpointer = checkpointer
        self.checkpoint_every = checkpoint_every
        self.archiver = archiver  # R-CLOSE: closed cases' volumes, one a tick
        self._unarchivable: set[int] = set()  # failed once: logged, retried after a restart
        self._next_checkpoint: datetime | None = None  # the folder is read only when due
        self._calendar_files = self._fingerprint()
        self.on_tick: Callable[[TickSummary], None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, engine: MediationEngine) -> Ticker:
        dispatcher = dispatcher_from_settings(settings, engine)
        return cls(
            engine,
            timers=TimerService(engine, lease=timedelta(seconds=settings.timer_lease_seconds)),
            dispatcher=dispatcher if dispatcher.senders else None,
            calendar_dir=settings.resolved_calendar_dir,
            checkpointer=checkpointer_from_settings(settings, engine, create_key=True),
            checkpoint_every=timedelta(minutes=settings.checkpoint_minutes),
            archiver=archiver_from_settings(settings, engine)
            if settings.document_service
            else None,
        )

    def _fingerprint(self) -> tuple[tuple[str, int], ...]:
        if not self.calendar_dir.is_dir():
            return ()
        return tuple(
            sorted((f.name, f.stat().st_mtime_ns) for f in self.calendar_dir.glob("*.yaml"))
        )

    def reload_calendar(self) -> tuple[bool, int]:
        """Take up new holiday data; returns (reloaded, timers moved)."""
        files = self._fingerprint()
        if files == self._calendar_files:
            return False, 0
        try:
            calendar = load_calendar(self.calendar_dir)
        except CalendarDataError as exc:
            log.error("节假日数据有误，继续使用原有日历：%s", exc.message_zh)
            self._calendar_files = files  # report once per change, not every tick
            return False, 0
        self._calendar_files = files
        self.engine.calendar = calendar
        return True, self.timers.recompute_provisional(calendar)

    def checkpoint_due(self, now: datetime) -> Path | None:
        """Sign the chains' heads when the latest checkpoint is older than the interval."""
        if self.checkpointer is None:
            return None
        if self._next_checkpoint is not None and now < self._next_checkpoint:
            return None
        latest = self.checkpointer.latest_time()  # another process may have made one
        if latest is not None and now - latest < self.checkpoint_every:
            self._next_checkpoint = latest + self.checkpoint_every
            return None
        made = self.checkpointer.make(now)
        self._next_checkpoint = made.created_at + self.checkpoint_every
        return made.path

    def tick(self, now: datetime | None = None) -> TickSummary:
        reloaded, moved = self.reload_calendar()
        now = now or self.engine.clock.now()
        self.checkpoint_due(now)  # before delivery, so its message goes out in this tick
        timers = self.timers.fire_due(now)
        outbox = self.dispatcher.deliver_due(now) if self.dispatcher else None
        self.archive_closed()
        with self.engine.db.transaction(write=True) as tx:
            forget_revoked_sessions(tx, now)  # logged-out tokens that have expired by now
        summary = TickSummary(timers, outbox, reloaded, moved)
        if timers.claimed or (outbox and (outbox.delivered or outbox.retrying or outbox.dead)):
            log.info(
                "tick: %d timers fired, %d failed; outbox %s",
                timers.fired,
                timers.failed,
                "-" if outbox is None else f"{outbox.delivered} delivered",
            )
        if self.on_tick is not None:
            self.on_tick(summary)
        return summary

    def archive_closed(self) -> list[int]:
        """Archive the 卷宗 of a case closed since (R-CLOSE); a case that fails is logged and
        set aside until the next start, and the tick goes on."""
        if self.archiver is None:
            return []
        try:
            done, failed = self.archiver(frozenset(self._unarchivable))
        except Exception:  # not one case's fault (the renderer cannot start): stop trying
            log.exception("case file archiving is unavailable until the next start")
            self.archiver = None
            return []
        self._unarchivable.update(failed)
        return done

    def safe_tick(self) -> None:
        """The scheduler's job: a failing tick is logged and the next one tries again."""
        try:
            self.tick()
        except Exception:
            log.exception("tick failed")


def dispatcher_from_settings(settings: Settings, engine: MediationEngine) -> OutboxDispatcher:
    """The outbox with the senders the deployment configured (possibly none)."""
    senders = build_senders(
        webhook_url=settings.webhook_url,
        webhook_secret=settings.webhook_secret,
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        mail_from=settings.mail_from,
        email_routes=settings.email_routes,
    )
    return OutboxDispatcher(engine.db, senders, max_attempts=settings.outbox_max_attempts)


def archiver_from_settings(
    settings: Settings, engine: MediationEngine
) -> Callable[[frozenset[int]], tuple[list[int], list[int]]]:
    """The tick's archiving of closed cases' volumes, with the document service built on
    first use (most ticks find nothing to archive)."""
    built: list[CaseFileService] = []

    def archive(skip: frozenset[int]) -> tuple[list[int], list[int]]:
        if not built:
            from api.documents import DocumentService
            from api.services.case_file import CaseFileService

            built.append(CaseFileService(DocumentService(settings, engine)))
        service: CaseFileService = built[0]
        return service.archive_closed(limit=1, skip=skip)

    return archive


def checkpointer_from_settings(
    settings: Settings, engine: MediationEngine, *, create_key: bool = False
) -> Checkpointer:
    key = load_signing_key(settings.resolved_audit_key_file, create=create_key)
    return Checkpointer(engine, key, settings.resolved_checkpoint_dir)


def start_background(ticker: Ticker, seconds: float) -> BackgroundScheduler:
    """Tick now (missed timers fire at start-up) and then every `seconds`, in a thread."""
    scheduler = BackgroundScheduler(timezone="UTC")
    _add_job(scheduler, ticker, seconds)
    scheduler.start()
    return scheduler


def run_blocking(ticker: Ticker, seconds: float) -> None:
    """`fengqiao worker`: tick in the foreground until interrupted."""
    scheduler = BlockingScheduler(timezone="UTC")
    _add_job(scheduler, ticker, seconds)
    scheduler.start()


def _add_job(
    scheduler: BackgroundScheduler | BlockingScheduler, ticker: Ticker, seconds: float
) -> None:
    scheduler.add_job(
        ticker.safe_tick,
        "interval",
        seconds=seconds,
        next_run_time=datetime.now().astimezone(),
        max_instances=1,
        coalesce=True,
        id="fengqiao-tick",
    )
