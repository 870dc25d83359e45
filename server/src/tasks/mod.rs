//! The task domain: what a task is and every way it changes.
//!
//! - [`plan`]: a request judged once (the engine's job, its work, its cost).
//! - [`status`]: the states a task moves through.
//! - [`lifecycle`]: create, cancel, retry, settle and delete, each moving its credits in one
//!   transaction.
//! - [`queue`]: the job queue that runs tasks (claims, leases, fencing, retries).
//! - [`pictures`]: the thumbnail and backlit view stored beside an output.
//!
//! No module outside this one writes the `tasks` table.

pub mod lifecycle;
pub mod pictures;
pub mod plan;
pub mod queue;
pub mod status;
pub mod view;

pub use lifecycle::ToCancel;
pub use plan::{Shape, TaskPlan};
pub use status::TaskStatus;

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// No module outside `tasks/` writes the `tasks` table.
    #[test]
    fn only_the_task_domain_writes_tasks() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut writers = Vec::new();
        for file in files.iter().filter(|f| !f.starts_with(src.join("tasks"))) {
            let text = std::fs::read_to_string(file).unwrap().to_uppercase();
            let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            for write in ["INSERT INTO TASKS ", "UPDATE TASKS ", "DELETE FROM TASKS "] {
                if text.contains(write) {
                    writers.push(format!("{} ({write})", file.display()));
                }
            }
        }
        assert!(files.len() > 20, "the walk found the sources");
        assert!(writers.is_empty(), "{writers:#?}");
    }
}
