"""Scale-out figures against a running API server (`serve --workers 0`) and one worker:

  overhead BASE KEY LITHOS RUNS   queue overhead per 1-megapixel relief: the median time from
                                  POST /tasks to `succeeded` seen by the client, minus the
                                  median engine time of the same conversion by
                                  `lithos convert` to a local file (decode, engine, write).
  memory BASE KEY GRID PID        submits one relief on a GRID x GRID grid and prints the
                                  worker's peak resident memory (VmHWM of PID) afterwards.

Called by benches/service/scale_out.sh."""

import io
import json
import math
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from common import api, png, upload


def png16(n):
    rows = [b"".join(struct.pack(">H", int(32767 + 32767 * math.sin(x / 37.0) * math.cos(y / 23.0)))
                     for x in range(n)) for y in range(n)]
    return png(n, n, 16, rows)


# How often the client asks whether its task is done: often enough to add little latency, not
# so often that the polling itself takes a core from the worker on a 2-core machine.
POLL = float(os.environ.get("BENCH_POLL_MS", "10")) / 1000


def run_task(base, key, body):
    start = time.perf_counter()
    task = api(base, "POST", "/tasks", body, key=key)
    while task["status"] in ("queued", "running"):
        time.sleep(POLL)
        task = api(base, "GET", f"/tasks/{task['id']}", key=key)
    assert task["status"] == "succeeded", task
    return time.perf_counter() - start, task


def overhead(base, key, lithos, runs):
    image = png16(1000)
    up = upload(base, key, image, "relief.png")
    body = {"upload_id": up["id"], "mode": "relief"}
    run_task(base, key, body)  # warm-up
    ends, inside, stages = [], [], []
    for _ in range(runs):
        elapsed, task = run_task(base, key, body)
        ends.append(elapsed)
        inside.append(task["result"]["seconds"])
        stages.append(task["result"]["stages"])
    engine = []
    with tempfile.TemporaryDirectory() as work:
        path = f"{work}/in.png"
        open(path, "wb").write(image)
        for _ in range(runs + 1):
            out = subprocess.run([lithos, "convert", path, "-o", f"{work}/out.stl", "--backend", "cpu", "--json"],
                                 check=True, capture_output=True, text=True).stdout
            report = json.loads(out)
            assert report["triangles"] == task["result"]["triangles"], "the same conversion"
            engine.append(report["seconds"])
            cli_stages = report["stages"]
    engine = engine[1:]
    e2e, eng, worker = statistics.median(ends), statistics.median(engine), statistics.median(inside)
    print(f"1-MP relief ({task['result']['triangles']} triangles, {task['result']['bytes'] / 1e6:.0f} MB), "
          f"median of {runs}:")
    print(f"  end to end (POST /tasks -> succeeded, client-side): {e2e * 1000:.1f} ms")
    print(f"  engine alone (lithos convert to a local file):      {eng * 1000:.1f} ms")
    print(f"  the worker's run (source read, engine, output stored): {worker * 1000:.1f} ms")
    if os.environ.get("BENCH_STAGES"):
        print("  worker stages (last run):", stages[-1])
        print("  cli stages (last run):   ", cli_stages)
    print(f"  queue overhead per job (end to end - engine):        {(e2e - eng) * 1000:.1f} ms")
    fetch = statistics.median(s["fetch"] for s in stages)
    store = statistics.median(s["store"] for s in stages)
    print(f"    of which reading the source from storage:          {fetch * 1000:.1f} ms")
    print(f"    of which waiting for the output to be stored after the engine finished: {store * 1000:.1f} ms")
    print(f"  outside the worker's run (claim, wake-up, settle, polling): {(e2e - worker) * 1000:.1f} ms")
    floor = store_floor(task["result"]["bytes"])
    if floor:
        print(f"  the store alone, the same bytes by boto3 (16 MiB parts, 4 at once): {floor * 1000:.1f} ms")


def store_floor(size):
    """How long the S3 store itself takes to take `size` bytes from a plain client, when
    S3_ENDPOINT is set and boto3 is installed; None otherwise."""
    endpoint, bucket = os.environ.get("S3_ENDPOINT"), os.environ.get("S3_BUCKET")
    try:
        import boto3
        from boto3.s3.transfer import TransferConfig
    except ImportError:
        return None
    if not endpoint or not bucket:
        return None
    client = boto3.client("s3", endpoint_url=endpoint)
    part = 16 << 20
    config = TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=part, max_concurrency=4)
    data = os.urandom(size)
    times = []
    for i in range(5):
        start = time.perf_counter()
        client.upload_fileobj(io.BytesIO(data), bucket, f"bench/floor-{i}", Config=config)
        times.append(time.perf_counter() - start)
        client.delete_object(Bucket=bucket, Key=f"bench/floor-{i}")
    return statistics.median(times)


def memory(base, key, grid, pid):
    up = upload(base, key, png16(64), "small.png")
    elapsed, task = run_task(base, key, {"upload_id": up["id"], "mode": "relief", "params": {"grid": grid}})
    status = open(f"/proc/{pid}/status").read()
    peak = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
    print(f"relief {grid} x {grid}: {task['result']['triangles']} triangles, "
          f"{task['result']['bytes'] / 1e9:.2f} GB STL to S3 in {elapsed:.1f} s; "
          f"worker peak RSS {int(peak) / 1024:.0f} MiB")


if __name__ == "__main__":
    if sys.argv[1] == "overhead":
        overhead(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        memory(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
