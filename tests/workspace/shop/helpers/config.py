import json
import time


def load_config(path):
    with open(path) as f:
        return json.load(f)


def settings(path):
    return load_config(path)


def cached_settings(path):
    return settings(path)


def too_deep(path):
    return cached_settings(path)


def pure(x):
    return x + 1


def ping():
    return pong()


def pong():
    return ping()


def lines(path):
    with open(path) as f:
        yield from f


class Client:
    def fetch(self):
        time.sleep(1)

    @staticmethod
    def build():
        return Client()
