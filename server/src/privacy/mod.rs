//! Privacy rights: a user's data given back ([`export`]: a streamed ZIP) and taken away
//! ([`deletion`]: the account replaced by a tombstone, its files gone from storage). The
//! routes are in `routes::privacy` (the user's own) and `routes::admin::users` (an operator's,
//! audited); the retention sweeper expires exports.

pub mod deletion;
pub mod export;
