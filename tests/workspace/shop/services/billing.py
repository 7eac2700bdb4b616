import contextlib


async def charge(order_id, amount):
    return {"order": order_id, "amount": amount}


def receipt(order_id):
    return f"receipt-{order_id}"


@contextlib.asynccontextmanager
async def transaction():
    yield "tx"


async def ledger_entries():
    for entry in ("a", "b"):
        yield entry


class Gateway:
    async def authorize(self, amount):
        return amount > 0

    def name(self):
        return "gateway"
