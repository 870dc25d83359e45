//! Billing through Creem: verified webhooks land in an inbox (`inbox.rs`) and their effects
//! (`apply.rs`: packs, subscription periods and states, refunds, disputes) are applied in the
//! transaction that marks them processed, each keyed by the Creem object it concerns, so
//! duplicates, retries and any order of arrival leave the ledger exact. Plans (`plans.rs`) say
//! what each account may do.

pub mod apply;
pub mod creem;
pub mod inbox;
pub mod payload;
pub mod plans;
pub mod reconcile;

pub use inbox::{Delivery, receive, signature_of};
