import asyncio

from shop.helpers import config
from shop.helpers import load_config as reexported
from shop.helpers.config import cached_settings, lines, ping, pure, settings, too_deep
from shop.helpers.other import load_config

from ..helpers.config import load_config as relative_load


async def handle(path):
    load_config(path)
    reexported(path)  # LW109
    relative_load(path)  # LW109
    config.load_config(path)  # LW109
    settings(path)  # LW109
    cached_settings(path)  # LW109
    too_deep(path)
    pure(1)
    ping()
    lines(path)
    config.Client.build()
    await asyncio.to_thread(settings, path)


def sync_caller(path):
    return settings(path)
