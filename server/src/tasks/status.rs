//! A task's state, one enum for the SQL column (stored as its name), the API's JSON and every
//! check on it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a task is in its life: queued, then running, then one of the three ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Canceled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Queued,
        TaskStatus::Running,
        TaskStatus::Succeeded,
        TaskStatus::Failed,
        TaskStatus::Canceled,
    ];

    /// The name stored in `tasks.status` and sent in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Canceled => "canceled",
        }
    }

    /// Queued or running: it can still be canceled, and its credits are still reserved.
    pub fn is_active(self) -> bool {
        matches!(self, TaskStatus::Queued | TaskStatus::Running)
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no status; says which names are.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be queued, running, succeeded, failed or canceled, got `{0}`")]
pub struct UnknownStatus(pub String);

impl FromStr for TaskStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, UnknownStatus> {
        TaskStatus::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| UnknownStatus(s.into()))
    }
}

/// For `#[sqlx(try_from = "String")]` on the rows that read `tasks.status`.
impl TryFrom<String> for TaskStatus {
    type Error = UnknownStatus;

    fn try_from(s: String) -> Result<Self, UnknownStatus> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_spelled_the_same_in_sql_json_and_text() {
        for status in TaskStatus::ALL {
            assert_eq!(status.as_str().parse::<TaskStatus>().unwrap(), status);
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            assert_eq!(status.to_string(), status.as_str());
        }
        assert!("done".parse::<TaskStatus>().is_err());
        let active: Vec<_> = TaskStatus::ALL.into_iter().filter(|s| s.is_active()).collect();
        assert_eq!(active, [TaskStatus::Queued, TaskStatus::Running]);
    }
}
