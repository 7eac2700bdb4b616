"""A small async package whose modules call each other: the workspace index fixture."""
from .services.billing import charge as charge_card
from .services import inventory

__all__ = ["charge_card", "inventory"]
