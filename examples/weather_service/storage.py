"""On-disk forecast cache and a small SQLite audit log."""

import asyncio
import json
import sqlite3
import time
from pathlib import Path


class ForecastCache:
    def __init__(self, root: str, ttl: float = 600.0) -> None:
        self.root = Path(root)
        self.ttl = ttl
        self.root.mkdir(parents=True, exist_ok=True)

    async def get(self, city: str) -> dict | None:
        path = self.root / f"{city.lower()}.json"
        if not path.exists():
            return None
        stat = await asyncio.to_thread(path.stat)
        if time.time() - stat.st_mtime > self.ttl:
            return None
        return json.loads(path.read_text(encoding="utf-8"))

    async def put(self, city: str, forecast: dict) -> None:
        path = self.root / f"{city.lower()}.json"
        await asyncio.to_thread(path.write_text, json.dumps(forecast), encoding="utf-8")

    async def cached_cities(self) -> list[str]:
        # The cache directory holds a few hundred small files at most.
        return sorted(p.stem for p in self.root.glob("*.json"))  # noqa: LW104


class AuditLog:
    def __init__(self, db_path: str) -> None:
        self._db_path = db_path
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._conn = sqlite3.connect(self._db_path, check_same_thread=False)
        await asyncio.to_thread(self._conn.execute, "CREATE TABLE IF NOT EXISTS hits (city TEXT, ts REAL)")

    async def record(self, city: str) -> None:
        await asyncio.to_thread(self._insert, city)

    def _insert(self, city: str) -> None:
        assert self._conn is not None
        with self._conn:
            self._conn.execute("INSERT INTO hits VALUES (?, ?)", (city, time.time()))
