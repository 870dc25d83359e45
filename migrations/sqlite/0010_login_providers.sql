-- Sign-in through login providers (OpenID Connect, Google, GitHub).

-- An account at a login provider, linked to one Lithos account. It is keyed by the provider's
-- issuer and its subject (never by email); `provider` is the configured id (`google`, …) and
-- `email` the address the provider gave when it was linked.
CREATE TABLE identities (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    provider TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    UNIQUE (issuer, subject)
);
CREATE INDEX identities_user ON identities (user_id);

-- A sign-in or link sent to a provider and not yet back: found by the SHA-256 of its `state`,
-- used once, and swept after ten minutes. `user_id` is set when a signed-in user links.
CREATE TABLE login_requests (
    state_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    user_id TEXT,
    created_at INTEGER NOT NULL
);

-- A new identity waiting for its birth date before any account is made: found by the SHA-256
-- of its token, deleted when answered (either way), and swept after fifteen minutes.
CREATE TABLE login_signups (
    token_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NOT NULL,
    email_verified INTEGER NOT NULL,
    name TEXT NOT NULL,
    picture TEXT,
    created_at INTEGER NOT NULL
);
