"""Seeds an export: the account USER_ID gets N succeeded tasks, each with an output of SIZE
bytes (random, so nothing compresses), on PostgreSQL and in the SeaweedFS bucket (through its
filer, 16 PUTs at a time).

    python3 seed_export.py POSTGRES_URL FILER_URL BUCKET USER_ID N SIZE
"""
import concurrent.futures
import http.client
import os
import subprocess
import sys
import threading
import time
import urllib.parse

database, filer, bucket, user, n, size = sys.argv[1:4] + [sys.argv[4], int(sys.argv[5]), int(sys.argv[6])]
now_ms = int(time.time() * 1000)
sql = f"""
INSERT INTO uploads (id, user_id, storage_key, filename, content_type, bytes, width, height, created_at, state)
  VALUES ('exportupload0000', '{user}', 'users/{user}/uploads/exportupload0000', 'photo.png', 'image/png', {size}, 1, 1, {now_ms}, 'ready');
INSERT INTO tasks (id, user_id, upload_id, mode, params, format, status, cost, request_hash, created_at, finished_at, output_key)
  SELECT 'e' || lpad(i::text, 15, '0'), '{user}', 'exportupload0000', 'relief', '{{"max_grid": 512}}', 'stl', 'succeeded', 1, 'h',
         {now_ms} + i, {now_ms} + i, 'users/{user}/outputs/e' || lpad(i::text, 15, '0') || '-1.stl'
  FROM generate_series(1, {n}) AS i;
"""
subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", database], input=sql, text=True, check=True)

host = urllib.parse.urlparse(filer).netloc
local = threading.local()
body = os.urandom(size)
keys = [f"users/{user}/uploads/exportupload0000"] + [f"users/{user}/outputs/e{i:015d}-1.stl" for i in range(1, n + 1)]


def put(key):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection(host, timeout=120)
    local.conn.request("PUT", f"/buckets/{bucket}/{key}", body=body)
    response = local.conn.getresponse()
    response.read()
    if response.status >= 300:
        raise RuntimeError(f"PUT {key}: {response.status}")


start = time.time()
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    list(pool.map(put, keys))
print(f"seeded {n} tasks and {len(keys)} files, {len(keys) * size / 1e9:.2f} GB, in {time.time() - start:.0f} s")
