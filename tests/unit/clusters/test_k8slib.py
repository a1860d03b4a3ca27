"""The cluster client loads only the parts of kubernetes_asyncio it uses (the generated
API and model classes are a third of an idle hub's memory), and every other name of the
package still works when something asks for it later."""

import subprocess
import sys

PROBE = """
import sys
import engine.clusters.client
loaded = [m for m in sys.modules if m.startswith("kubernetes_asyncio")]
assert "kubernetes_asyncio.client.models.v1_pod" not in sys.modules, loaded
assert len(loaded) < 30, len(loaded)
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.models import V1Pod
assert client.CoreV1Api.__name__ == "CoreV1Api" and watch.Watch.__name__ == "Watch"
assert client.ApiClient is engine.clusters.client.ApiClient
assert client.models.V1Pod is V1Pod
print(len(loaded))
"""


def test_the_client_loads_a_few_modules_and_the_rest_on_demand() -> None:
    found = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                           timeout=60, check=False)
    assert found.returncode == 0, found.stderr
    assert int(found.stdout) < 30
