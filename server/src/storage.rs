//! Where uploads and outputs live, behind one interface, [`Storage`]: local disk now, S3 in
//! the scale-out work. Keys are made by the server (`uploads/<id>`, `outputs/<id>.<ext>`),
//! never from user input, and checked again here.

use std::path::{Path, PathBuf};

use crate::error::{ApiError, ApiResult};

/// The storage backends; every caller goes through these methods.
#[derive(Debug)]
pub enum Storage {
    Local(LocalDisk),
}

impl Storage {
    /// A local path the engine may write the object to directly (its writes are atomic), for
    /// backends that have one.
    pub fn path(&self, key: &str) -> ApiResult<PathBuf> {
        match self {
            Storage::Local(disk) => disk.path(key),
        }
    }

    pub async fn put(&self, key: &str, bytes: &[u8]) -> ApiResult<()> {
        match self {
            Storage::Local(disk) => disk.put(key, bytes).await,
        }
    }

    pub async fn get(&self, key: &str) -> ApiResult<Vec<u8>> {
        match self {
            Storage::Local(disk) => disk.get(key).await,
        }
    }

    /// The object as a stream of bytes, and its length.
    pub async fn open(&self, key: &str) -> ApiResult<(tokio::fs::File, u64)> {
        match self {
            Storage::Local(disk) => {
                let file = disk.open(key).await?;
                let length = file.metadata().await?.len();
                Ok((file, length))
            }
        }
    }

    pub async fn ready(&self) -> bool {
        match self {
            Storage::Local(disk) => disk.ready().await,
        }
    }
}

/// Files under one directory.
#[derive(Debug)]
pub struct LocalDisk {
    root: PathBuf,
}

impl LocalDisk {
    pub fn new(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join("uploads"))?;
        std::fs::create_dir_all(root.join("outputs"))?;
        Ok(Self { root })
    }

    /// The file behind `key`, which must be one of ours.
    pub fn path(&self, key: &str) -> ApiResult<PathBuf> {
        let valid = !key.is_empty()
            && key.split('/').count() == 2
            && key.split('/').all(|part| {
                !part.is_empty()
                    && !part.starts_with('.')
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            });
        if !valid {
            return Err(ApiError::Internal(anyhow::anyhow!("refusing storage key {key:?}")));
        }
        Ok(self.root.join(key))
    }

    /// Writes `bytes` to a temporary file beside the target and renames it into place.
    pub async fn put(&self, key: &str, bytes: &[u8]) -> ApiResult<()> {
        let path = self.path(key)?;
        let temp = temp_beside(&path);
        tokio::fs::write(&temp, bytes).await?;
        tokio::fs::rename(&temp, &path).await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> ApiResult<Vec<u8>> {
        Ok(tokio::fs::read(self.path(key)?).await?)
    }

    pub async fn open(&self, key: &str) -> ApiResult<tokio::fs::File> {
        Ok(tokio::fs::File::open(self.path(key)?).await?)
    }

    /// Whether the storage can be written (for `/readyz`).
    pub async fn ready(&self) -> bool {
        let probe = self.root.join(".ready");
        tokio::fs::write(&probe, b"ok").await.is_ok()
            && tokio::fs::remove_file(&probe).await.is_ok()
    }
}

fn temp_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.part", crate::new_id()))
}
