//! Storage in a local directory: the embedded default.

use std::path::{Path, PathBuf};

use super::{StorageResult, check_key};

/// Files under one directory.
#[derive(Debug)]
pub struct LocalDisk {
    pub(super) root: PathBuf,
}

impl LocalDisk {
    pub fn new(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    /// The file behind `key`, which must be one of ours.
    pub fn path(&self, key: &str) -> StorageResult<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    /// Writes `bytes` to a temporary file beside the target and renames it into place.
    pub(super) async fn put(&self, key: &str, bytes: &[u8]) -> StorageResult<()> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let temp = temp_beside(&path);
        if let Err(e) = tokio::fs::write(&temp, bytes).await {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(e.into());
        }
        tokio::fs::rename(&temp, &path).await?;
        Ok(())
    }

    pub(super) async fn get(&self, key: &str) -> StorageResult<Vec<u8>> {
        Ok(tokio::fs::read(self.path(key)?).await?)
    }

    pub(super) async fn ready(&self) -> bool {
        let probe = self.root.join(".ready");
        tokio::fs::write(&probe, b"ok").await.is_ok()
            && tokio::fs::remove_file(&probe).await.is_ok()
    }
}

fn temp_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.part", crate::new_id()))
}
