"""Read and write an app's inventory ConfigMap in the cluster (see ``engine.model.inventory``).

The ConfigMap is written only when its content changes, so a sync that changes nothing
makes no write; the namespace holding it is created on the first write.
"""

from __future__ import annotations

from engine.clusters import ClusterClient, NotFound
from engine.model import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from engine.model.inventory import Inventory, configmap, configmap_name


async def read_inventory(*, client: ClusterClient, app: str, namespace: str) -> Inventory:
    """The app's stored inventory; empty when none was ever written."""
    res = await client.resource(api_version="v1", kind="ConfigMap")
    try:
        live = await client.get(res=res, namespace=namespace, name=configmap_name(app))
    except NotFound:
        return Inventory()
    return Inventory.from_data(live.get("data") or {})


async def write_inventory(
    *, client: ClusterClient, app: str, namespace: str, inventory: Inventory, previous: Inventory
) -> bool:
    """Store ``inventory`` unless it equals ``previous``; True when it wrote."""
    if inventory == previous:
        return False
    await ensure_namespace(client=client, name=namespace)
    res = await client.resource(api_version="v1", kind="ConfigMap")
    await client.apply(res=res, obj=configmap(app, inventory, namespace=namespace), force=True)
    return True


async def ensure_namespace(*, client: ClusterClient, name: str) -> bool:
    """Create namespace ``name`` (labelled managed-by fleetsync) if absent; True if created."""
    res = await client.resource(api_version="v1", kind="Namespace")
    try:
        await client.get(res=res, namespace="", name=name)
        return False
    except NotFound:
        pass
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE}},
    }
    await client.apply(res=res, obj=namespace, force=False)
    return True
