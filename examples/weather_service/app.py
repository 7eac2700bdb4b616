"""HTTP API: GET /forecast/{city}, GET /health, GET / (index page)."""

import asyncio
import os
from pathlib import Path

from aiohttp import web

from .fetcher import ForecastFetcher, UpstreamError
from .storage import AuditLog, ForecastCache
from .worker import RefreshWorker, start_metrics_thread

STATIC_DIR = Path(__file__).parent / "static"
routes = web.RouteTableDef()


@routes.get("/forecast/{city}")
async def forecast(request: web.Request) -> web.Response:
    city = request.match_info["city"]
    app = request.app
    app["worker"].note_request(city)
    cached = await app["cache"].get(city)
    if cached is None:
        try:
            cached = await app["fetcher"].forecast(city)
        except UpstreamError:
            raise web.HTTPBadGateway(text=f"no forecast for {city}") from None
        await app["cache"].put(city, cached)
    await app["audit"].record(city)
    return web.json_response(cached)


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    healthy = await request.app["fetcher"].upstream_healthy()
    return web.json_response({"upstream": healthy}, status=200 if healthy else 503)


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return web.Response(text=html, content_type="text/html")


async def on_startup(app: web.Application) -> None:
    app["cache"] = ForecastCache(os.environ.get("WEATHER_CACHE_DIR", "/var/cache/weather"))
    app["fetcher"] = ForecastFetcher(os.environ["WEATHER_API_KEY"])
    app["audit"] = AuditLog(os.environ.get("WEATHER_AUDIT_DB", "audit.sqlite3"))
    await app["audit"].open()
    app["worker"] = RefreshWorker(app["fetcher"], app["cache"])
    app["worker"].start()
    app["metrics_thread"] = start_metrics_thread(app["worker"])


async def on_cleanup(app: web.Application) -> None:
    await app["worker"].stop()
    await app["fetcher"].close()


def create_app() -> web.Application:
    app = web.Application()
    app.add_routes(routes)
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


async def main() -> None:
    if os.environ.get("WEATHER_CONFIRM_START") and input("Start the weather service? [y/N] ") != "y":
        return
    runner = web.AppRunner(create_app())
    await runner.setup()
    site = web.TCPSite(runner, "0.0.0.0", int(os.environ.get("PORT", "8080")))
    await site.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
