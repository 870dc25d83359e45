-- Abuse limits that every replica shares: how much of each rule a subject used in a window.
-- `key` is the SHA-256 of the rule and its subject (an address, an email, an account), so no
-- address is kept in the clear; windows are deleted two days after they end.
CREATE TABLE rate_limits (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);
