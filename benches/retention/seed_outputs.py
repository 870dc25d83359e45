"""Seeds a retention sweep: N finished tasks of one free-plan user, finished 10 days ago, each
with a stored output. The rows go into PostgreSQL in one statement; the objects go into the
SeaweedFS bucket through its filer (plain HTTP PUTs, 32 at a time).

    python3 seed_outputs.py POSTGRES_URL FILER_URL BUCKET N
"""
import concurrent.futures
import http.client
import subprocess
import sys
import threading
import time
import urllib.parse

database, filer, bucket, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
user = "benchuser0000000"
now_ms = int(time.time() * 1000)
finished = now_ms - 10 * 86_400_000
sql = f"""
INSERT INTO users (id, email, email_lower, name, password_hash, role, created_at)
  VALUES ('{user}', 'sweep@example.org', 'sweep@example.org', 'Sweep', 'x', 'user', {finished});
INSERT INTO uploads (id, user_id, storage_key, filename, content_type, bytes, width, height, created_at, state, deleted_at)
  VALUES ('benchupload00000', '{user}', 'users/{user}/uploads/benchupload00000', 'a.png', 'image/png', 1, 1, 1, {finished}, 'ready', {finished});
INSERT INTO tasks (id, user_id, upload_id, mode, params, format, status, cost, request_hash, created_at, finished_at, output_key)
  SELECT 't' || lpad(i::text, 15, '0'), '{user}', 'benchupload00000', 'relief', '{{}}', 'stl', 'succeeded', 1, 'h',
         {finished}, {finished}, 'users/{user}/outputs/t' || lpad(i::text, 15, '0') || '-1.stl'
  FROM generate_series(1, {n}) AS i;
"""
subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", database], input=sql, text=True, check=True)

host = urllib.parse.urlparse(filer).netloc
local = threading.local()
body = b"solid bench\n" + b"x" * 1000 + b"\nendsolid bench\n"


def put(i):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection(host, timeout=30)
    path = f"/buckets/{bucket}/users/{user}/outputs/t{i:015d}-1.stl"
    local.conn.request("PUT", path, body=body)
    response = local.conn.getresponse()
    response.read()
    if response.status >= 300:
        raise RuntimeError(f"PUT {path}: {response.status}")


start = time.time()
with concurrent.futures.ThreadPoolExecutor(32) as pool:
    list(pool.map(put, range(1, n + 1), chunksize=256))
print(f"seeded {n} tasks and {n} objects of {len(body)} bytes in {time.time() - start:.0f} s")
