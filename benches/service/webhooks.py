"""Creem webhook deliveries against a running `lithos serve` (release, SQLite): the rate and
latency of distinct pack purchases, each a signed `checkout.completed` granting credits, and
a storm of 1,000 deliveries of 100 distinct events in random order with duplicates, which
must end with exactly 100 grants.

Usage: python3 webhooks.py BASE SECRET [DELIVERIES] [THREADS]
"""

import hashlib
import hmac
import http.client
import json
import random
import statistics
import sys
import threading
import time
import urllib.parse

from common import api

base, secret = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 8
host = urllib.parse.urlparse(base).netloc

cookie = api(base, "POST", "/auth/register",
             {"email": "hooks@example.org", "password": "webhook bench password", "name": "H", "birth_date": "1990-05-17"},
             origin=True, want_cookie=True)
user = api(base, "GET", "/me", cookie=cookie)["id"]


def purchase(n, tag):
    order = f"ord_{tag}_{n}"
    return {"id": f"evt_{tag}_{n}", "eventType": "checkout.completed", "created_at": 1767225600000,
            "object": {"id": f"ch_{tag}_{n}", "object": "checkout", "request_id": f"req_{n}",
                       "order": {"id": order, "object": "order", "customer": "cust_bench",
                                 "product": "prod_pack100", "transaction": f"tran_{tag}_{n}",
                                 "amount": 900, "amount_paid": 900, "currency": "EUR",
                                 "status": "paid", "type": "onetime", "mode": "test"},
                       "product": {"id": "prod_pack100", "object": "product", "price": 900,
                                   "currency": "EUR", "billing_type": "onetime"},
                       "customer": {"id": "cust_bench", "object": "customer",
                                    "email": "hooks@example.org"},
                       "custom_fields": [], "status": "completed",
                       "metadata": {"user_id": user}, "units": 1, "mode": "test"}}


def send_all(bodies):
    """Sends every body over `threads` keep-alive connections; returns the latencies."""
    latencies, lock, queue = [], threading.Lock(), list(enumerate(bodies))

    def work():
        conn = http.client.HTTPConnection(host)
        while True:
            with lock:
                if not queue:
                    break
                _, body = queue.pop()
            signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            start = time.perf_counter()
            conn.request("POST", "/api/v1/billing/creem/webhook", body,
                         {"content-type": "application/json", "creem-signature": signature})
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - start
            assert response.status == 200, response.status
            with lock:
                latencies.append(elapsed)
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return latencies


bodies = [json.dumps(purchase(n, "rate")).encode() for n in range(count)]
start = time.perf_counter()
latencies = send_all(bodies)
elapsed = time.perf_counter() - start
latencies.sort()
p99 = latencies[int(len(latencies) * 0.99) - 1]
print(f"{count} distinct deliveries, {threads} connections: {count / elapsed:.0f} per second, "
      f"median {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")

storm = [json.dumps(purchase(n, "storm")).encode() for n in range(100)]
deliveries = storm + [random.choice(storm) for _ in range(900)]
random.shuffle(deliveries)
start = time.perf_counter()
send_all(deliveries)
elapsed = time.perf_counter() - start
balance = api(base, "GET", "/credits?limit=1", cookie=cookie)["balance"]
grants = (balance - 20) // 100
assert balance == 20 + 100 * (count + 100), balance
print(f"storm: 1000 deliveries of 100 events (random order, 900 duplicates) in {elapsed:.2f} s; "
      f"{grants - count} grants of 100, the balance exact")
