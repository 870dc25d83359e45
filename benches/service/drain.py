"""Waits until the service has no queued or running tasks."""

import sys
import time

from common import api

base, key = sys.argv[1], sys.argv[2]
while True:
    busy = sum(len(api(base, "GET", f"/tasks?status={s}&limit=1", key=key)["tasks"]) for s in ("queued", "running"))
    if not busy:
        break
    time.sleep(0.5)
