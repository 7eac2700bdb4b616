# Calls into other modules of the package, by every import shape the index resolves.
# A trailing marker comment names the rule that must report on that line.
from shop import charge_card
from shop.services import billing
from shop.services.billing import Gateway, ledger_entries, receipt, transaction

from ..services import inventory
from ..services.billing import charge
from ..services.inventory import reserve as hold


async def place(order_id, client):
    charge(order_id, 10)  # LW201
    await charge(order_id, 10)
    billing.charge(order_id, 5)  # LW201
    charge_card(order_id, 1)  # LW201
    inventory.reserve("apple")  # LW201
    hold("pear")  # LW201
    inventory.count("apple")
    receipt(order_id)
    task = charge(order_id, 3)
    await task
    client.fetch(order_id)
    if billing.charge(order_id, 2):  # LW201
        pass
    Gateway().name()
    with transaction() as tx:  # LW602
        print(tx)
    async with transaction() as tx:
        print(tx)
    for entry in ledger_entries():  # LW602
        print(entry)
    async for entry in ledger_entries():
        print(entry)
    return [charge(order_id, 1)]


def sync_helper(order_id):
    return charge(order_id, 1)
