"""The hardening figures against a fresh `lithos serve` on the embedded default.

  python3 benches/service/hardening.py [LITHOS_BINARY]

1. Peak resident memory of the server while 8 clients upload 16384 x 16384 RGBA PNG bombs
   (about 1 MB each, 1 GiB decoded) at once, against the configured decode budget plus 300 MB.
2. The watchdog: for tasks given a 1-second limit (plan `free`), the time from the limit to
   the task settling as failed and its worker slot taking the next job, median of 5.

Standard library only."""

import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib

from common import api, png8, upload

BUDGET_MB = 1024
LIMIT_S = 1.0


def bomb(side):
    """A PNG declaring side x side RGBA pixels, all zero, compressed as it streams."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    deflate = zlib.compressobj(9)
    row = b"\x00" * (side * 4 + 1)
    idat = b"".join(deflate.compress(row) for _ in range(side)) + deflate.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def rss_mib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    binary = sys.argv[1] if len(sys.argv) > 1 else next(
        p for p in (f"{root}/target/release/lithos", f"{root}/target/debug/lithos") if os.path.exists(p))
    data = tempfile.mkdtemp(prefix="lithos-hardening-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, LITHOS_BACKEND="cpu", LITHOS_DECODE_BUDGET_MB=str(BUDGET_MB),
               LITHOS_PLAN_TIME_LIMIT_SECONDS=f"free={LIMIT_S}", LITHOS_FREE_CREDITS="1000",
               RUST_LOG="warn")
    server = subprocess.Popen([binary, "serve", "--data-dir", data, "--bind", f"127.0.0.1:{port}",
                               "--workers", "1"], env=env)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/readyz").read()
                break
            except Exception:
                time.sleep(0.1)
        keys = []
        for i in range(8):
            cookie = api(base, "POST", "/auth/register",
                         {"email": f"bomb{i}@example.org", "password": "bench password", "name": "Bench", "birth_date": "1990-05-17"},
                         origin=True, want_cookie=True)
            keys.append(api(base, "POST", "/api-keys", {"name": "bench"}, cookie=cookie, origin=True)["key"])
        payload = bomb(16384)
        print(f"bomb: {len(payload) / 1e6:.2f} MB declaring 16384 x 16384 RGBA ({16384 * 16384 * 4 / 2**30:.0f} GiB decoded)")
        before = rss_mib(server.pid, "VmRSS")
        peak = [before]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_mib(server.pid, "VmRSS"))
                time.sleep(0.005)
        sampler = threading.Thread(target=sample)
        sampler.start()
        statuses = []

        def send(key):
            try:
                upload(base, key, payload, "bomb.png")
                statuses.append(201)
            except urllib.error.HTTPError as e:
                statuses.append(e.code)
        start = time.perf_counter()
        clients = [threading.Thread(target=send, args=(k,)) for k in keys]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        hwm = rss_mib(server.pid, "VmHWM")
        print(f"8 concurrent bomb uploads: statuses {sorted(statuses)} in {elapsed:.1f} s")
        print(f"server RSS: {before:.0f} MiB before, peak {max(peak[0], hwm):.0f} MiB (VmHWM {hwm:.0f}); "
              f"limit: budget {BUDGET_MB} MiB + 300 MB = {BUDGET_MB + 286:.0f} MiB")

        # The watchdog: a relief on a 8192 x 8192 grid runs for many seconds on the CPU.
        key = keys[0]
        small = upload(base, key, png8(64), "ramp.png")["id"]
        overruns = []
        for _ in range(5):
            task = api(base, "POST", "/tasks", {"upload_id": small, "mode": "relief", "params": {"grid": 8192}}, key=key)
            follow = api(base, "POST", "/tasks", {"upload_id": small, "mode": "relief", "params": {"width_mm": 10}}, key=key)
            while task["status"] in ("queued", "running"):
                time.sleep(0.01)
                task = api(base, "GET", f"/tasks/{task['id']}", key=key)
            assert task["status"] == "failed" and "time limit" in task["error"], task
            while follow["status"] in ("queued", "running") and follow.get("started_at") is None:
                time.sleep(0.005)
                follow = api(base, "GET", f"/tasks/{follow['id']}", key=key)
            settled = (task["finished_at"] - task["started_at"]) / 1000 - LIMIT_S
            free = (follow["started_at"] - task["started_at"]) / 1000 - LIMIT_S
            overruns.append((settled, free))
            while follow["status"] in ("queued", "running"):
                time.sleep(0.01)
                follow = api(base, "GET", f"/tasks/{follow['id']}", key=key)
        settled = statistics.median(s for s, _ in overruns)
        free = statistics.median(f for _, f in overruns)
        print(f"watchdog ({LIMIT_S:.0f} s limit, median of 5): settled {settled * 1000:.0f} ms after the limit, "
              f"next job started {free * 1000:.0f} ms after it")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
