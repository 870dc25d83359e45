"""Seeds a Lithos SQLite database with N finished, running and queued jobs for the console's
benchmarks: 90% finished two days ago, 9% in the last hour (every tenth failed), the rest
running or queued. Usage: seed_jobs.py DB N"""
import sqlite3
import sys
import time

db, n = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db)
now = int(time.time() * 1000)
admin = con.execute("SELECT id FROM users LIMIT 1").fetchone()[0]
con.execute(
    "INSERT INTO uploads (id, user_id, storage_key, filename, content_type, bytes, width, height, created_at) "
    "VALUES ('seed', ?, 'seed', 'seed.png', 'image/png', 1, 1000, 1000, ?)", (admin, now))
rows = []
for i in range(n):
    if i < n * 0.9:
        status, created, started, finished = "succeeded", now - 50 * 3600_000, now - 49 * 3600_000, now - 48 * 3600_000 + i
    elif i < n * 0.99:
        finished = now - 3500_000 + (i % 1000) * 3000
        status = "failed" if i % 10 == 0 else "succeeded"
        started, created = finished - 1000 - (i % 97) * 10, finished - 1100 - (i % 97) * 10
    elif i % 2:
        status, created, started, finished = "running", now - 2000, now - 1000, None
    else:
        status, created, started, finished = "queued", now - 1000, None, None
    ok = status == "succeeded"
    rows.append((f"seed{i:06}", admin, status, created, started, finished, 1.0 if ok else None, 2_000_000 if ok else None))
con.executemany(
    "INSERT INTO tasks (id, user_id, upload_id, mode, params, format, status, cost, request_hash, created_at, "
    "started_at, finished_at, megapixels, triangles) VALUES (?, ?, 'seed', 'relief', '{}', 'stl', ?, 1, 'h', ?, ?, ?, ?, ?)",
    rows)
con.commit()
print(f"seeded {n} jobs")
