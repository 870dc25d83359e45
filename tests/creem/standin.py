"""A stand-in for Creem, the one outside service Lithos' tests may replace: it speaks the parts
of Creem's documented API that Lithos uses, serves a hosted checkout page, signs its success
redirects and webhooks as Creem does, and retries failed deliveries on Creem's schedule
compressed (30 s, 5 min, 30 min, 6 h become --retry-seconds). Payloads follow Creem's
documented examples field for field (see ../../shared/docs/creem.md).

    python3 standin.py --api-key KEY --webhook-secret SECRET [--webhook-url URL] \\
        --product prod_pack100:onetime:900 --product prod_pro:recurring:1900

It prints `listening on PORT` once it serves (port 0 picks a free one). Card 4242 4242 4242
4242 pays; 4000 0000 0000 0002 is declined.

Control endpoints, for tests (no key):
  POST /control/webhook {url}                     where webhooks go from now on
  POST /control/renew {subscription_id}           a new period: subscription.paid
  POST /control/refund {transaction_id, amount}   refund.created (amount in minor units)
  POST /control/dispute {transaction_id}          dispute.created
  POST /control/cancel {subscription_id, at_period_end}   scheduled_cancel, or canceled
  POST /control/redeliver {event_id}              deliver an event again
  POST /control/hold {on}                         queue events instead of sending them
  POST /control/release {order: [event ids]}      send held events in this order
  POST /control/drop {event_id}                   forget a held event (never delivered)
  GET  /control/events                            every event and its deliveries
"""

import argparse
import hashlib
import hmac
import html
import json
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--api-key")
parser.add_argument("--webhook-secret")
parser.add_argument("--self-test", action="store_true",
                    help="check the signatures against Creem's published vectors and exit")
parser.add_argument("--webhook-url", default="http://127.0.0.1:9/unset")
parser.add_argument("--product", action="append", default=[], help="ID:onetime|recurring:PRICE")
parser.add_argument("--retry-seconds", default="0.5,1,2,4", help="the 4 retry delays")
args = parser.parse_args()
if not args.self_test and not (args.api_key and args.webhook_secret):
    parser.error("--api-key and --webhook-secret are required")
RETRIES = [float(s) for s in args.retry_seconds.split(",")]
webhook_url = args.webhook_url

lock = threading.RLock()
products, checkouts, customers, orders, transactions, subscriptions = {}, {}, {}, {}, {}, {}
events, held, deliveries = {}, [], {}
holding = False
MONTH_MS = 30 * 24 * 3600 * 1000


def now_ms():
    return int(time.time() * 1000)


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def new(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


for spec in args.product:
    pid, billing_type, price = spec.split(":")
    recurring = billing_type == "recurring"
    products[pid] = {
        "id": pid, "object": "product", "name": pid, "description": f"{pid} (stand-in)",
        "image_url": None, "price": int(price), "currency": "EUR", "billing_type": billing_type,
        "billing_period": "every-month" if recurring else "once", "status": "active",
        "tax_mode": "inclusive", "tax_category": "saas", "default_success_url": None,
        "created_at": iso(now_ms()), "updated_at": iso(now_ms()), "mode": "test",
    }


def sign(secret, body):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def error(status, message, kind):
    return status, {"trace_id": str(uuid.uuid4()), "status": status, "error": kind,
                    "message": [message], "timestamp": now_ms()}


# ---- webhooks ---------------------------------------------------------------------------

def emit(event_type, obj):
    event = {"id": new("evt"), "eventType": event_type, "created_at": now_ms(), "object": obj}
    with lock:
        events[event["id"]] = event
        deliveries[event["id"]] = []
        if holding:
            held.append(event["id"])
            return event
    deliver(event["id"], 0)
    return event


def deliver(event_id, attempt):
    def run():
        body = json.dumps(events[event_id]).encode()
        request = urllib.request.Request(webhook_url, data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header("creem-signature", sign(args.webhook_secret, body))
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status = response.status
        except urllib.error.HTTPError as e:
            status = e.code
        except Exception:  # noqa: BLE001 - unreachable counts as a failure
            status = 0
        with lock:
            deliveries[event_id].append(status)
        if not 200 <= status < 300 and attempt < len(RETRIES):
            threading.Timer(RETRIES[attempt], deliver, (event_id, attempt + 1)).start()
    threading.Thread(target=run, daemon=True).start()


# ---- the objects ------------------------------------------------------------------------

def customer_for(email):
    for c in customers.values():
        if c["email"] == email:
            return c
    c = {"id": new("cust"), "object": "customer", "email": email, "name": email.split("@")[0],
         "country": "NL", "created_at": iso(now_ms()), "updated_at": iso(now_ms()), "mode": "test"}
    customers[c["id"]] = c
    return c


def transaction(amount, order_id, customer_id, subscription_id=None, period=None):
    t = {"id": new("tran"), "object": "transaction", "amount": amount, "amount_paid": amount,
         "currency": "EUR", "type": "invoice" if subscription_id else "payment",
         "tax_country": "NL", "tax_amount": 0, "status": "paid", "refunded_amount": None,
         "order": order_id, "subscription": subscription_id, "customer": customer_id,
         "description": None, "period_start": period[0] if period else None,
         "period_end": period[1] if period else None, "created_at": now_ms(), "mode": "test"}
    transactions[t["id"]] = t
    return t


def subscription_object(sub):
    last = transactions[sub["last_transaction_id"]]
    return {
        "id": sub["id"], "object": "subscription", "product": products[sub["product"]],
        "customer": customers[sub["customer"]],
        "items": [{"id": new("sitem"), "product_id": sub["product"], "price_id": new("pprice"),
                   "units": 1}],
        "collection_method": "charge_automatically", "status": sub["status"],
        "last_transaction_id": last["id"], "last_transaction": last,
        "last_transaction_date": iso(last["created_at"]),
        "next_transaction_date": iso(sub["period_end"]),
        "current_period_start_date": iso(sub["period_start"]),
        "current_period_end_date": iso(sub["period_end"]),
        "canceled_at": iso(sub["canceled_at"]) if sub.get("canceled_at") else None,
        "created_at": iso(sub["created_at"]), "updated_at": iso(now_ms()),
        "metadata": sub["metadata"], "mode": "test",
    }


def pay(checkout):
    """The card was accepted: the order, its transaction, a subscription for a plan, and the
    events Creem sends for a first payment."""
    product = products[checkout["product"]]
    cust = customer_for(checkout["email"])
    units = checkout["units"]
    amount = product["price"] * units
    order = {"id": new("ord"), "object": "order", "customer": cust["id"], "product": product["id"],
             "transaction": None, "amount": amount, "sub_total": amount, "tax_amount": 0,
             "amount_due": amount, "amount_paid": amount, "currency": "EUR", "status": "paid",
             "type": "recurring" if product["billing_type"] == "recurring" else "onetime",
             "created_at": iso(now_ms()), "updated_at": iso(now_ms()), "mode": "test"}
    sub = None
    if product["billing_type"] == "recurring":
        start = now_ms()
        sub = {"id": new("sub"), "product": product["id"], "customer": cust["id"],
               "status": "active", "period_start": start, "period_end": start + MONTH_MS,
               "created_at": start, "metadata": checkout["metadata"]}
        t = transaction(amount, order["id"], cust["id"], sub["id"], (start, start + MONTH_MS))
        sub["last_transaction_id"] = t["id"]
        subscriptions[sub["id"]] = sub
    else:
        t = transaction(amount, order["id"], cust["id"])
    order["transaction"] = t["id"]
    orders[order["id"]] = order
    checkout.update(status="completed", order=order["id"], customer=cust["id"],
                    subscription=sub["id"] if sub else None)
    obj = {"id": checkout["id"], "object": "checkout", "request_id": checkout["request_id"],
           "order": order, "product": product, "customer": cust, "custom_fields": [],
           "status": "completed", "metadata": checkout["metadata"], "units": units, "mode": "test"}
    if sub:
        obj["subscription"] = {"id": sub["id"], "object": "subscription", "product": product["id"],
                               "customer": cust["id"], "collection_method": "charge_automatically",
                               "status": "active", "canceled_at": None,
                               "created_at": iso(sub["created_at"]),
                               "updated_at": iso(now_ms()), "metadata": sub["metadata"],
                               "mode": "test"}
    emit("checkout.completed", obj)
    if sub:
        emit("subscription.active", subscription_object(sub))
        emit("subscription.paid", subscription_object(sub))


def checkout_view(c):
    """A checkout as Creem's API answers it: its order, product and customer expanded."""
    view = {k: v for k, v in c.items() if k != "email"}
    view["product"] = products[c["product"]]
    if c.get("order"):
        view["order"] = orders[c["order"]]
    if c.get("customer"):
        view["customer"] = customers[c["customer"]]
    if c.get("subscription"):
        sub = subscriptions[c["subscription"]]
        view["subscription"] = {"id": sub["id"], "object": "subscription",
                                "product": sub["product"], "customer": sub["customer"],
                                "status": sub["status"], "metadata": sub["metadata"],
                                "mode": "test"}
    return view


def redirect_signature(key, params):
    present = sorted((k, v) for k, v in params.items() if v)
    text = "&".join(f"{k}={v}" for k, v in present)
    return present, hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def redirect_url(checkout):
    params = {"checkout_id": checkout["id"], "order_id": checkout.get("order"),
              "customer_id": checkout.get("customer"),
              "subscription_id": checkout.get("subscription"),
              "product_id": checkout["product"], "request_id": checkout["request_id"]}
    present, signature = redirect_signature(args.api_key, params)
    query = urllib.parse.urlencode(present + [("signature", signature)])
    base = checkout["success_url"]
    return f"{base}{'&' if '?' in base else '?'}{query}"


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Creem checkout
(stand-in)</title></head><body><main><h1>Pay for {name}</h1><p>{units} x {price:.2f} EUR</p>
<form method="post" action="/checkout/{id}/pay"><label for="card">Card number</label>
<input id="card" name="card" autocomplete="cc-number" required>
<button type="submit">Pay {total:.2f} EUR</button></form><p id="message">{message}</p></main>
</body></html>"""


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):  # quiet
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, payload, content_type="application/json", headers=()):
        data = payload if isinstance(payload, bytes) else (
            payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        key = self.headers.get("x-api-key")
        if key is None:
            self.answer(*error(401, "Missing API key", "Unauthorized"))
            return False
        if key != args.api_key:
            self.answer(*error(403, "Invalid API key", "Forbidden"))
            return False
        return True

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        with lock:
            if url.path.startswith("/checkout/"):
                checkout = checkouts.get(url.path.split("/")[2])
                if not checkout:
                    return self.answer(404, "no such checkout", "text/plain")
                product = products[checkout["product"]]
                return self.answer(200, PAGE.format(
                    name=html.escape(product["name"]), units=checkout["units"],
                    price=product["price"] / 100, total=product["price"] * checkout["units"] / 100,
                    id=checkout["id"], message=""), "text/html")
            if url.path == "/control/events":
                return self.answer(200, [{"event": events[i], "deliveries": deliveries[i],
                                          "held": i in held} for i in events])
            if not self.authorized():
                return
            if url.path == "/v1/checkouts":
                c = checkouts.get(query.get("checkout_id"))
                if not c:
                    return self.answer(*error(404, "Checkout not found", "Not Found"))
                return self.answer(200, checkout_view(c))
            if url.path == "/v1/subscriptions":
                s = subscriptions.get(query.get("subscription_id"))
                return self.answer(200, subscription_object(s)) if s else self.answer(*error(404, "Subscription not found", "Not Found"))
            if url.path == "/v1/transactions/search":
                items = sorted(transactions.values(), key=lambda t: t["created_at"])
                size = int(query.get("page_size", 50))
                page = int(query.get("page_number", 1))
                chunk = items[(page - 1) * size:page * size]
                pages = max(1, -(-len(items) // size))
                return self.answer(200, {"items": chunk, "pagination": {
                    "total_records": len(items), "total_pages": pages, "current_page": page,
                    "next_page": page + 1 if page < pages else None,
                    "prev_page": page - 1 if page > 1 else None}})
            return self.answer(*error(404, "Not found", "Not Found"))

    def do_POST(self):
        global holding
        url = urllib.parse.urlparse(self.path)
        raw = self.body()
        with lock:
            if url.path.startswith("/checkout/") and url.path.endswith("/pay"):
                checkout = checkouts.get(url.path.split("/")[2])
                card = dict(urllib.parse.parse_qsl(raw.decode())).get("card", "").replace(" ", "")
                if not checkout:
                    return self.answer(404, "no such checkout", "text/plain")
                if card != "4242424242424242":
                    product = products[checkout["product"]]
                    return self.answer(402, PAGE.format(
                        name=html.escape(product["name"]), units=checkout["units"],
                        price=product["price"] / 100,
                        total=product["price"] * checkout["units"] / 100, id=checkout["id"],
                        message="Your card was declined."), "text/html")
                if checkout["status"] != "completed":
                    pay(checkout)
                return self.answer(303, "", "text/plain", [("Location", redirect_url(checkout))])
            if url.path.startswith("/control/"):
                body = json.loads(raw or b"{}")
                return self.control(url.path[len("/control/"):], body)
            if not self.authorized():
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self.answer(*error(400, "Invalid JSON", "Bad Request"))
            if url.path == "/v1/checkouts":
                product = products.get(body.get("product_id"))
                if not product:
                    return self.answer(*error(404, "Product not found", "Not Found"))
                cid = new("ch")
                host = self.headers.get("Host")
                checkouts[cid] = {
                    "id": cid, "object": "checkout", "mode": "test", "status": "pending",
                    "request_id": body.get("request_id"), "product": product["id"],
                    "units": int(body.get("units") or 1), "order": None, "subscription": None,
                    "customer": None, "custom_fields": [],
                    "email": (body.get("customer") or {}).get("email", "buyer@example.org"),
                    "checkout_url": f"http://{host}/checkout/{cid}",
                    "success_url": body.get("success_url"), "metadata": body.get("metadata") or {},
                }
                return self.answer(200, checkout_view(checkouts[cid]))
            if url.path == "/v1/customers/billing":
                cust = customers.get(body.get("customer_id"))
                if not cust:
                    return self.answer(*error(404, "Customer not found", "Not Found"))
                host = self.headers.get("Host")
                return self.answer(200, {"customer_portal_link": f"http://{host}/portal/{cust['id']}"})
            parts = url.path.split("/")
            if len(parts) == 5 and parts[2] == "subscriptions":
                sub = subscriptions.get(parts[3])
                if not sub:
                    return self.answer(*error(404, "Subscription not found", "Not Found"))
                action = parts[4]
                if action == "cancel":
                    if body.get("mode") == "immediate":
                        sub["status"], sub["canceled_at"] = "canceled", now_ms()
                        emit("subscription.canceled", subscription_object(sub))
                    else:
                        sub["status"] = "scheduled_cancel"
                        emit("subscription.scheduled_cancel", subscription_object(sub))
                elif action == "resume":
                    if sub["status"] not in ("paused", "scheduled_cancel"):
                        return self.answer(*error(400, "Subscription cannot be resumed", "Bad Request"))
                    sub["status"] = "active"
                    emit("subscription.active", subscription_object(sub))
                elif action == "upgrade":
                    if body.get("product_id") not in products:
                        return self.answer(*error(404, "Product not found", "Not Found"))
                    sub["product"] = body["product_id"]
                    emit("subscription.update", subscription_object(sub))
                    emit("subscription.active", subscription_object(sub))
                else:
                    return self.answer(*error(404, "Not found", "Not Found"))
                return self.answer(200, subscription_object(sub))
            return self.answer(*error(404, "Not found", "Not Found"))

    def control(self, action, body):
        global holding, webhook_url
        if action == "webhook":
            webhook_url = body["url"]
            return self.answer(200, {"ok": True})
        if action == "renew":
            sub = subscriptions[body["subscription_id"]]
            start = sub["period_end"]
            product = products[sub["product"]]
            t = transaction(product["price"], new("ord"), sub["customer"], sub["id"],
                            (start, start + MONTH_MS))
            sub.update(last_transaction_id=t["id"], period_start=start, period_end=start + MONTH_MS,
                       status="active")
            event = emit("subscription.paid", subscription_object(sub))
            return self.answer(200, {"event_id": event["id"], "transaction_id": t["id"]})
        if action in ("refund", "dispute"):
            t = transactions[body["transaction_id"]]
            base = {"transaction": dict(t), "subscription": t["subscription"], "checkout": None,
                    "order": t["order"], "customer": t["customer"], "created_at": now_ms(),
                    "mode": "test"}
            if action == "refund":
                amount = int(body.get("amount") or t["amount_paid"])
                t["refunded_amount"] = (t["refunded_amount"] or 0) + amount
                obj = {"id": new("ref"), "object": "refund", "status": "succeeded",
                       "refund_amount": amount, "refund_currency": "EUR",
                       "reason": "requested_by_customer", **base}
                event = emit("refund.created", obj)
            else:
                base["transaction"]["status"] = "chargeback"
                obj = {"id": new("disp"), "object": "dispute", "amount": t["amount_paid"],
                       "currency": "EUR", **base}
                event = emit("dispute.created", obj)
            return self.answer(200, {"event_id": event["id"], "id": obj["id"]})
        if action == "cancel":
            sub = subscriptions[body["subscription_id"]]
            if body.get("at_period_end", True):
                sub["status"] = "scheduled_cancel"
                event = emit("subscription.scheduled_cancel", subscription_object(sub))
            else:
                sub["status"], sub["canceled_at"] = "canceled", now_ms()
                event = emit("subscription.canceled", subscription_object(sub))
            return self.answer(200, {"event_id": event["id"]})
        if action == "redeliver":
            deliver(body["event_id"], len(RETRIES))  # once, no retries
            return self.answer(200, {"ok": True})
        if action == "hold":
            holding = bool(body.get("on", True))
            return self.answer(200, {"ok": True, "held": list(held)})
        if action == "release":
            order = body.get("order") or list(held)
            for event_id in order:
                if event_id in held:
                    held.remove(event_id)
                    deliver(event_id, 0)
            return self.answer(200, {"ok": True})
        if action == "drop":
            if body["event_id"] in held:
                held.remove(body["event_id"])
            return self.answer(200, {"ok": True})
        return self.answer(404, {"error": f"no control action {action}"})


if args.self_test:
    # Creem's published vectors (shared/docs/creem.md).
    assert sign("test_secret", b'{"id":"evt_1"}') == \
        "c99dcd69e2f455a559a87dcb03ec937afb162c4907f8a198fff25e657028060d"
    params = {"checkout_id": "ch_1", "order_id": "ord_1", "customer_id": "cust_1",
              "subscription_id": None, "product_id": "prod_1", "request_id": "req_1"}
    assert redirect_signature("creem_test_key", params)[1] == \
        "0e6b2feaf797dd9c547045935bc41940060f8999fa96702183e0e37f3071aafc"
    print("signatures match Creem's published vectors")
    raise SystemExit(0)

server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
print(f"listening on {server.server_address[1]}", flush=True)
server.serve_forever()
