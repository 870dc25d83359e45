"""Times a CT series through the API: upload (checked and described at upload), a `volume`
task at `iso` bone, until the output is ready. Prints each step and the total.

Usage: python3 ct_end_to_end.py BASE SERIES.zip   (registers its own user)
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../service"))
from common import api, upload  # noqa: E402

base, path = sys.argv[1], sys.argv[2]
cookie = api(base, "POST", "/auth/register",
             {"email": "ct@example.org", "password": "ct bench password", "name": "CT", "birth_date": "1990-05-17"},
             origin=True, want_cookie=True)
key = api(base, "POST", "/api-keys", {"name": "ct"}, cookie=cookie, origin=True)["key"]
content = open(path, "rb").read()
start = time.perf_counter()
up = upload(base, key, content, os.path.basename(path))
uploaded = time.perf_counter()
volume = up["volume"]
task = api(base, "POST", "/tasks", {"upload_id": up["id"], "mode": "volume", "params": {"iso": "bone"}}, key=key)
while task["status"] in ("queued", "running"):
    time.sleep(0.02)
    task = api(base, "GET", f"/tasks/{task['id']}", key=key)
done = time.perf_counter()
assert task["status"] == "succeeded", task
result = task["result"]
print(f"upload {len(content) / 1e6:.0f} MB, checked and described: {uploaded - start:.2f} s "
      f"({' x '.join(map(str, volume['dims']))} voxels, {volume['value_range'][0]:.0f} to "
      f"{volume['value_range'][1]:.0f} HU)")
print(f"task (cost {task['cost']} credits): {done - uploaded:.2f} s, {result['triangles']} triangles, "
      f"{result['bytes'] / 1e6:.0f} MB; stages: "
      + ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in result["stages"].items()))
print(f"end to end: {done - start:.2f} s")
