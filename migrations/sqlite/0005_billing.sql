-- Billing through Creem: the webhook inbox, checkouts, linked customers, subscriptions, the
-- payments that granted credits and their refunds and disputes, billing holds, and ledger
-- entries keyed by the Creem object they apply (`creem:order:…`), so none applies twice.

-- The ledger gains `purchase` and `clawback` entries and a unique business key. The table is
-- copied (SQLite cannot change a CHECK), its entries in their order.
CREATE TABLE ledger_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('grant', 'reserve', 'capture', 'release', 'refund',
                                       'adjustment', 'purchase', 'clawback')),
    amount INTEGER NOT NULL,
    reason TEXT NOT NULL,
    task_id TEXT REFERENCES tasks (id),
    admin_id TEXT REFERENCES users (id),
    created_at INTEGER NOT NULL,
    idempotency_key TEXT UNIQUE
);
INSERT INTO ledger_new (user_id, kind, amount, reason, task_id, admin_id, created_at)
    SELECT user_id, kind, amount, reason, task_id, admin_id, created_at FROM ledger ORDER BY id;
DROP TABLE ledger;
ALTER TABLE ledger_new RENAME TO ledger;
CREATE INDEX ledger_user ON ledger (user_id, id);

-- A disputed payment the balance could not cover holds the account: no new tasks until an
-- operator clears it.
ALTER TABLE users ADD COLUMN billing_hold_at INTEGER;
ALTER TABLE users ADD COLUMN billing_hold_reason TEXT;
-- A canceled, expired or paused subscription keeps its plan until the period it paid for ends.
ALTER TABLE users ADD COLUMN plan_ends_at INTEGER;

-- Every webhook delivery's event, by Creem's id: its effects are applied in the transaction
-- that marks it processed. `waiting_on` names what a waiting event needs first (a customer
-- to link, a payment to refund).
CREATE TABLE billing_events (
    id TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('processed', 'waiting', 'ignored', 'failed')),
    waiting_on TEXT,
    error TEXT,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    processed_at INTEGER
);
CREATE INDEX billing_events_waiting ON billing_events (waiting_on);
CREATE INDEX billing_events_received ON billing_events (received_at);

CREATE TABLE checkouts (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    product TEXT NOT NULL,
    units INTEGER NOT NULL,
    creem_checkout_id TEXT,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    completed_at INTEGER
);
CREATE INDEX checkouts_user ON checkouts (user_id, created_at);

CREATE TABLE creem_customers (
    customer_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    linked_at INTEGER NOT NULL
);
CREATE INDEX creem_customers_user ON creem_customers (user_id);

CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plan TEXT NOT NULL,
    status TEXT NOT NULL,
    period_start INTEGER,
    period_end INTEGER,
    -- The Creem event time of the state above: an older event never overwrites it.
    state_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX subscriptions_user ON subscriptions (user_id);

-- A payment that granted credits (a pack's order, a subscription period), by its Creem
-- transaction; `clawed_back` never exceeds `credits`.
CREATE TABLE payments (
    transaction_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('pack', 'period')),
    product TEXT NOT NULL,
    order_id TEXT,
    subscription_id TEXT,
    amount_paid INTEGER NOT NULL,
    currency TEXT NOT NULL,
    credits INTEGER NOT NULL,
    clawed_back INTEGER NOT NULL DEFAULT 0 CHECK (clawed_back <= credits),
    created_at INTEGER NOT NULL
);
CREATE INDEX payments_user ON payments (user_id, created_at);
CREATE INDEX payments_created ON payments (created_at);

CREATE TABLE payment_reversals (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('refund', 'dispute')),
    transaction_id TEXT NOT NULL REFERENCES payments (transaction_id),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    -- Credits taken from the balance, and those it could not cover.
    credits INTEGER NOT NULL,
    shortfall INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX payment_reversals_user ON payment_reversals (user_id, created_at);
