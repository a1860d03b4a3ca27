"""The inventory round-trips through its ConfigMap data."""

from __future__ import annotations

import pytest

from engine.model import ResourceKey
from engine.model.inventory import Inventory, InventoryError, configmap


def test_inventory_round_trips_through_configmap_data() -> None:
    inv = Inventory(
        {
            ResourceKey("apps", "Deployment", "ns", "web"): "apps/v1",
            ResourceKey("", "Namespace", "", "ns"): "v1",
        }
    )
    cm = configmap("demo", inv, namespace="fleetsync-system")
    assert cm["metadata"]["name"] == "fleetsync-inventory-demo"
    assert "fleetsync.io/tracking-id" not in (cm["metadata"].get("annotations") or {})
    assert Inventory.from_data(cm["data"]) == inv


def test_malformed_data_is_an_error_not_an_empty_inventory() -> None:
    with pytest.raises(InventoryError):
        Inventory.from_data({"entries": '[{"kind": 1}]'})
    with pytest.raises(InventoryError):
        Inventory.from_data({"entries": "not json"})
