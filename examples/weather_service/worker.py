"""Background jobs: keep popular cities fresh and render forecast charts."""

import asyncio
import logging
import queue
import subprocess
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)


class RefreshWorker:
    def __init__(self, fetcher, cache, interval: float = 300.0) -> None:
        self._fetcher = fetcher
        self._cache = cache
        self._interval = interval
        self._popular: dict[str, int] = {}
        # Shared with the metrics thread started by start_metrics_thread().
        self._stats_lock = threading.Lock()
        self._render_jobs: queue.Queue[str] = queue.Queue(maxsize=100)
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    def note_request(self, city: str) -> None:
        with self._stats_lock:
            self._popular[city] = self._popular.get(city, 0) + 1

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            await self.refresh_popular()
            try:
                async with asyncio.timeout(self._interval):
                    await self._stop.wait()
            except TimeoutError:
                log.debug("refresh interval elapsed")

    async def refresh_popular(self) -> None:
        with self._stats_lock:
            top = sorted(self._popular, key=self._popular.__getitem__, reverse=True)[:5]
        for city in top:
            forecast = await self._fetcher.forecast(city)
            await self._cache.put(city, forecast)
            try:
                self._render_jobs.put_nowait(city)
            except queue.Full:
                log.info("render queue full, skipping %s", city)

    async def render_next(self, out_dir: Path) -> Path:
        city = self._render_jobs.get()
        out_dir.mkdir(exist_ok=True)
        out = out_dir / f"{city}.png"
        subprocess.run(["gnuplot", "-e", f"city='{city}'; out='{out}'", "chart.gp"], check=True)
        return out

    async def render_city(self, city: str, out_dir: Path) -> Path:
        out = out_dir / f"{city}.png"
        proc = await asyncio.create_subprocess_exec("gnuplot", "-e", f"city='{city}'; out='{out}'", "chart.gp")
        if await proc.wait() != 0:
            raise RuntimeError(f"chart for {city} failed")
        return out

    def dump_metrics_forever(self) -> None:
        while True:
            with self._stats_lock:
                snapshot = dict(self._popular)
            log.info("popular cities: %s", snapshot)
            time.sleep(60)


def start_metrics_thread(worker: RefreshWorker) -> threading.Thread:
    thread = threading.Thread(target=worker.dump_metrics_forever, daemon=True)
    thread.start()
    return thread
