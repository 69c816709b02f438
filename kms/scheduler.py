"""The server process's scheduler thread: runs due automatisms with no browser open."""

from __future__ import annotations

import logging
import threading

from kms.functions import run_due

log = logging.getLogger(__name__)


class Scheduler:
    """A daemon thread that calls run_due() every `interval` seconds until stopped."""

    def __init__(self, interval: float = 20.0) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kms-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = run_due()
                if ran:
                    log.info("automatisms ran: %s", ", ".join(ran))
            except Exception:
                log.exception("scheduler tick failed")
            self._stop.wait(self.interval)
