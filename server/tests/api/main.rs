//! The service's integration tests: one binary, one module per feature. Each test starts the
//! app on 127.0.0.1:0 with a fresh data directory and database: SQLite by default, or a new
//! database on the PostgreSQL server named by `LITHOS_TEST_POSTGRES_URL` when it is set (the
//! test script sets it), so the same suite runs on both.

mod accounts;
mod avatar;
mod billing;
mod console;
mod credits;
mod email;
mod hardening;
mod helpers;
mod limits;
mod login;
mod models;
mod object_storage;
mod operations;
mod previews;
mod privacy;
mod prompts;
mod queue;
mod retention;
mod sculpts;
mod sessions;
mod support;
mod tasks;
mod text;
mod volumes;
