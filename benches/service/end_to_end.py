"""Times upload -> task -> output ready for an N x N 16-bit relief, RUNS times; prints each
and the median."""

import statistics
import struct
import sys
import time

from common import api, png, upload

base, key, n, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])


def png16(n):
    """A smooth 16-bit grey PNG, n x n."""
    import math
    rows = [b"".join(struct.pack(">H", int(32767 + 32767 * math.sin(x / 37.0) * math.cos(y / 23.0)))
                     for x in range(n)) for y in range(n)]
    return png(n, n, 16, rows)


image = png16(n)
times = []
for _ in range(runs):
    start = time.perf_counter()
    up = upload(base, key, image, "relief.png")
    task = api(base, "POST", "/tasks", {"upload_id": up["id"], "mode": "relief"}, key=key)
    while task["status"] in ("queued", "running"):
        time.sleep(0.005)
        task = api(base, "GET", f"/tasks/{task['id']}", key=key)
    elapsed = time.perf_counter() - start
    assert task["status"] == "succeeded", task
    times.append(elapsed)
    print(f"  {elapsed:.3f} s ({task['result']['triangles']} triangles, {task['result']['bytes'] / 1e6:.1f} MB)")
print(f"median {statistics.median(times):.3f} s over {runs} runs of {n} x {n}")
