//! The domain's errors: what the ledger, accounts and the operator's commands can refuse, in
//! their own words. They become HTTP errors only at the edge (`From<DomainError> for
//! ApiError`), so the CLI's admin commands and the worker use them without a status code.

/// Why the domain refused, or failed.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// A value is invalid; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// No such account (or task, or key).
    #[error("not found")]
    NotFound,
    /// It conflicts with what exists (an email already taken).
    #[error("{0}")]
    Conflict(String),
    /// Spending `cost` credits would take the balance below zero.
    #[error("this costs {cost} credits and the balance is {balance}")]
    InsufficientCredits { cost: i64, balance: i64 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// Something that should not fail did (a worker thread panicked, say).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl DomainError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::Invalid { field, message: message.into() }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

impl From<DomainError> for crate::error::ApiError {
    fn from(e: DomainError) -> Self {
        use crate::error::ApiError;
        match e {
            DomainError::Invalid { field, message } => ApiError::invalid(field, message),
            DomainError::NotFound => ApiError::NotFound,
            DomainError::Conflict(message) => ApiError::Conflict(message),
            DomainError::InsufficientCredits { cost, balance } => {
                ApiError::InsufficientCredits { cost, balance }
            }
            DomainError::Database(e) => ApiError::from(e),
            DomainError::Internal(e) => ApiError::Internal(e),
        }
    }
}
