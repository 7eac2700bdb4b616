"""weather_service: a small aiohttp service that serves cached weather forecasts."""

__version__ = "0.1.0"
