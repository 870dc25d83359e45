//! Where uploads and outputs live, behind one interface, [`Storage`]: a local directory (the
//! default) or an S3-compatible bucket.
//!
//! Keys are made by the server and namespaced by user (`users/<user>/uploads/<id>`,
//! `users/<user>/outputs/<task>-<attempt>.<ext>`), never taken from user input, and checked
//! again here. Outputs are written through a [`Sink`] as the engine produces them: a
//! temporary file renamed into place on disk, or an S3 multipart upload once an object passes
//! 64 MB, so a whole mesh never sits in memory.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::ApiError;

mod local;
mod multipart;
mod s3;

pub use local::LocalDisk;
pub use multipart::{MULTIPART_THRESHOLD, MultipartSink, PART_SIZE};
pub use s3::S3Store;

/// The longest a presigned URL may live.
pub const MAX_URL_TTL: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the stored object {0} does not exist")]
    NotFound(String),
    /// Worth retrying: a timeout, a 5xx, a dropped connection.
    #[error("storage is unavailable: {0}")]
    Transient(String),
    /// Retrying will not help: access denied, no such bucket, a refused request.
    #[error("storage refused the request: {0}")]
    Permanent(String),
}

impl StorageError {
    pub fn is_transient(&self) -> bool {
        matches!(self, StorageError::Transient(_))
    }
}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => StorageError::NotFound(e.to_string()),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::InvalidInput => {
                StorageError::Permanent(e.to_string())
            }
            _ => StorageError::Transient(e.to_string()),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(_) => ApiError::NotFound,
            other => ApiError::Internal(other.into()),
        }
    }
}

pub type StorageResult<T> = Result<T, StorageError>;

/// S3 settings beyond the standard AWS environment (`AWS_ACCESS_KEY_ID`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL`, `~/.aws/config`, …), which the SDK reads itself.
#[derive(Clone, Debug, Default)]
pub struct S3Options {
    /// An S3-compatible endpoint (SeaweedFS, MinIO, Garage); overrides `AWS_ENDPOINT_URL`.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`; the default
    /// when an endpoint is given.
    pub path_style: Option<bool>,
}

/// A request the client makes itself, signed by us: a presigned URL and the headers it must
/// send with it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Presigned {
    pub method: String,
    pub url: String,
    pub headers: std::collections::BTreeMap<String, String>,
}

/// The storage backends; every caller goes through these methods.
#[derive(Debug)]
pub enum Storage {
    Local(LocalDisk),
    S3(S3Store),
}

impl Storage {
    /// Opens `spec`: `s3://bucket` or a local directory.
    pub async fn open_spec(spec: &str, s3: &S3Options) -> anyhow::Result<Self> {
        match spec.strip_prefix("s3://") {
            Some(bucket) => {
                let bucket = bucket.trim_end_matches('/');
                anyhow::ensure!(
                    !bucket.is_empty() && !bucket.contains('/'),
                    "--storage s3://BUCKET names a bucket, without a path: {spec:?}"
                );
                Ok(Storage::S3(S3Store::connect(bucket, s3).await?))
            }
            None => Ok(Storage::Local(LocalDisk::new(PathBuf::from(spec))?)),
        }
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, Storage::S3(_))
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StorageResult<()> {
        check_key(key)?;
        match self {
            Storage::Local(disk) => disk.put(key, &bytes).await,
            Storage::S3(s3) => s3.put(key, bytes, content_type).await,
        }
    }

    pub async fn get(&self, key: &str) -> StorageResult<Vec<u8>> {
        check_key(key)?;
        match self {
            Storage::Local(disk) => disk.get(key).await,
            Storage::S3(s3) => s3.get(key, None).await,
        }
    }

    /// The first `length` bytes of the object (fewer if it is shorter).
    pub async fn get_prefix(&self, key: &str, length: u64) -> StorageResult<Vec<u8>> {
        check_key(key)?;
        match self {
            Storage::Local(disk) => {
                use tokio::io::AsyncReadExt;
                let file = tokio::fs::File::open(disk.path(key)?).await?;
                let mut bytes = Vec::new();
                file.take(length).read_to_end(&mut bytes).await?;
                Ok(bytes)
            }
            Storage::S3(s3) => s3.get(key, Some(length)).await,
        }
    }

    /// The object's size, or `None` when there is none.
    pub async fn size(&self, key: &str) -> StorageResult<Option<u64>> {
        check_key(key)?;
        match self {
            Storage::Local(disk) => match tokio::fs::metadata(disk.path(key)?).await {
                Ok(meta) => Ok(Some(meta.len())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            },
            Storage::S3(s3) => s3.size(key).await,
        }
    }

    /// Deletes the object; deleting one that is not there is not an error.
    pub async fn delete(&self, key: &str) -> StorageResult<()> {
        check_key(key)?;
        match self {
            Storage::Local(disk) => match tokio::fs::remove_file(disk.path(key)?).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
                _ => Ok(()),
            },
            Storage::S3(s3) => s3.delete(key).await,
        }
    }

    /// Deletes objects, a thousand to a request on S3; ones not there are not an error.
    pub async fn delete_many(&self, keys: Vec<String>) -> StorageResult<()> {
        for key in &keys {
            check_key(key)?;
        }
        match self {
            Storage::Local(_) => {
                for key in &keys {
                    self.delete(key).await?;
                }
                Ok(())
            }
            Storage::S3(s3) => {
                for chunk in keys.chunks(1000) {
                    s3.delete_keys(chunk).await?;
                }
                Ok(())
            }
        }
    }

    /// Deletes every object of one user (`users/<id>/…`): what deleting an account does.
    /// Returns how many objects went (on disk, how many files).
    pub async fn delete_user_objects(&self, user_id: &str) -> StorageResult<u64> {
        let dir = format!("users/{user_id}");
        check_key(&dir)?;
        match self {
            Storage::Local(disk) => {
                let root = disk.path(&dir)?;
                let count = count_files(&root);
                match tokio::fs::remove_dir_all(&root).await {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
                    _ => Ok(count),
                }
            }
            Storage::S3(s3) => s3.delete_prefix(&format!("{dir}/")).await,
        }
    }

    /// Copies the object into `out` as it streams in, from a blocking thread (S3 chunks are
    /// fetched through the current Tokio runtime). Returns the bytes copied.
    pub fn copy_to(&self, key: &str, out: &mut impl Write) -> StorageResult<u64> {
        check_key(key)?;
        match self {
            Storage::Local(disk) => {
                let mut file = std::fs::File::open(disk.path(key)?)?;
                Ok(std::io::copy(&mut file, out)?)
            }
            Storage::S3(s3) => {
                let runtime = tokio::runtime::Handle::current();
                let mut body = runtime.block_on(s3.body(key))?;
                let mut copied = 0;
                while let Some(chunk) = runtime.block_on(body.next()) {
                    let chunk = chunk
                        .map_err(|e| StorageError::Transient(format!("reading {key}: {e}")))?;
                    out.write_all(&chunk)?;
                    copied += chunk.len() as u64;
                }
                Ok(copied)
            }
        }
    }

    /// The object as a file and its length, for backends that serve downloads themselves.
    pub async fn open_file(&self, key: &str) -> StorageResult<Option<(tokio::fs::File, u64)>> {
        check_key(key)?;
        match self {
            Storage::Local(disk) => {
                let file = tokio::fs::File::open(disk.path(key)?).await?;
                let length = file.metadata().await?.len();
                Ok(Some((file, length)))
            }
            Storage::S3(_) => Ok(None),
        }
    }

    /// A presigned PUT of exactly `length` bytes, for backends that take direct uploads.
    pub async fn presign_put(
        &self,
        key: &str,
        length: u64,
        content_type: &str,
        ttl: Duration,
    ) -> StorageResult<Option<Presigned>> {
        check_key(key)?;
        match self {
            Storage::Local(_) => Ok(None),
            Storage::S3(s3) => s3.presign_put(key, length, content_type, ttl).await.map(Some),
        }
    }

    /// A presigned GET that downloads as `filename`, for backends that serve downloads.
    pub async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        content_type: &str,
        ttl: Duration,
    ) -> StorageResult<Option<String>> {
        check_key(key)?;
        match self {
            Storage::Local(_) => Ok(None),
            Storage::S3(s3) => s3.presign_get(key, filename, content_type, ttl).await.map(Some),
        }
    }

    /// A writer for a new object at `key`, made visible only by [`Sink::finish`]. Call from a
    /// blocking thread: S3 parts are uploaded through the current Tokio runtime.
    pub fn sink(&self, key: &str, content_type: &str) -> StorageResult<Sink> {
        check_key(key)?;
        match self {
            Storage::Local(disk) => {
                let path = disk.path(key)?;
                let dir = path.parent().expect("keys have a directory");
                std::fs::create_dir_all(dir)?;
                let mut builder = tempfile::Builder::new();
                builder.prefix(".lithos-").suffix(".part");
                #[cfg(unix)]
                builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
                let file = builder.tempfile_in(dir)?;
                Ok(Sink::Local { file: std::io::BufWriter::with_capacity(1 << 20, file), path })
            }
            Storage::S3(s3) => Ok(Sink::S3(MultipartSink::new(s3, key, content_type))),
        }
    }

    /// Whether the storage can be reached and written (for `/readyz`).
    pub async fn ready(&self) -> bool {
        match self {
            Storage::Local(disk) => disk.ready().await,
            Storage::S3(s3) => s3.client.head_bucket().bucket(&s3.bucket).send().await.is_ok(),
        }
    }
}

fn count_files(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() { count_files(&path) } else { 1 }
        })
        .sum()
}

/// Keys are relative paths of plain segments: letters, digits, `.`, `-`, `_`.
fn check_key(key: &str) -> StorageResult<()> {
    let valid = key.split('/').count() >= 2
        && key.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with('.')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        });
    if valid {
        Ok(())
    } else {
        Err(StorageError::Permanent(format!("refusing storage key {key:?}")))
    }
}

/// A new object being written; dropped without [`Sink::finish`], it leaves nothing behind.
#[derive(Debug)]
pub enum Sink {
    Local { file: std::io::BufWriter<tempfile::NamedTempFile>, path: PathBuf },
    S3(MultipartSink),
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Local { file, .. } => file.write(data),
            Sink::S3(s3) => s3.write(data),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Local { file, .. } => file.flush(),
            Sink::S3(_) => Ok(()),
        }
    }
}

impl Sink {
    /// Makes the object visible: renames the file, or completes the upload. Returns its size.
    pub fn finish(self) -> StorageResult<u64> {
        match self {
            Sink::Local { file, path } => {
                let file = file.into_inner().map_err(|e| StorageError::from(e.into_error()))?;
                let size = file.as_file().metadata()?.len();
                file.persist(&path).map_err(|e| StorageError::from(e.error))?;
                Ok(size)
            }
            Sink::S3(s3) => s3.finish(),
        }
    }

    /// How many parts have gone to a multipart upload so far (0 until the object passes
    /// [`MULTIPART_THRESHOLD`], and always 0 on disk).
    pub fn parts_sent(&self) -> i32 {
        match self {
            Sink::S3(MultipartSink { upload: Some(upload), .. }) => upload.next_part - 1,
            _ => 0,
        }
    }

    /// Why a write failed, when it was the storage that failed rather than the engine.
    pub fn failure(&mut self) -> Option<StorageError> {
        match self {
            Sink::Local { .. } => None,
            Sink::S3(s3) => s3.failure.take(),
        }
    }
}
