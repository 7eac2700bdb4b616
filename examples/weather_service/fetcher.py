"""Fetch forecasts from the upstream weather API."""

import asyncio
import logging
import time

import httpx
import requests
from legacy_geo.client import lookup_city

log = logging.getLogger(__name__)

API_URL = "https://api.example.com/v1/forecast"
STATUS_URL = "https://status.example.com/api/v2/status.json"


class UpstreamError(Exception):
    """The upstream API did not answer after all retries."""


class ForecastFetcher:
    def __init__(self, api_key: str, retries: int = 3) -> None:
        self._retries = retries
        self._client = httpx.AsyncClient(timeout=10.0, headers={"X-Api-Key": api_key})

    async def close(self) -> None:
        await self._client.aclose()

    async def forecast(self, city: str) -> dict:
        lat, lon = lookup_city(city)
        for attempt in range(1, self._retries + 1):
            try:
                resp = await self._client.get(API_URL, params={"lat": lat, "lon": lon})
                resp.raise_for_status()
                return resp.json()
            except httpx.HTTPError as exc:
                log.warning("attempt %d for %s failed: %s", attempt, city, exc)
                time.sleep(0.5 * attempt)
        raise UpstreamError(city)

    async def forecasts(self, cities: list[str]) -> dict[str, dict]:
        async with asyncio.TaskGroup() as tg:
            tasks = {city: tg.create_task(self.forecast(city)) for city in cities}
        return {city: task.result() for city, task in tasks.items()}

    async def upstream_healthy(self) -> bool:
        resp = requests.get(STATUS_URL, timeout=5)
        return resp.ok and resp.json()["status"]["indicator"] == "none"
