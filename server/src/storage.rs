//! Where uploads and outputs live, behind one interface, [`Storage`]: a local directory (the
//! default) or an S3-compatible bucket.
//!
//! Keys are made by the server and namespaced by user (`users/<user>/uploads/<id>`,
//! `users/<user>/outputs/<task>-<attempt>.<ext>`), never taken from user input, and checked
//! again here. Outputs are written through a [`Sink`] as the engine produces them: a
//! temporary file renamed into place on disk, or an S3 multipart upload once an object passes
//! 64 MB, so a whole mesh never sits in memory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::sync::mpsc;

use crate::error::ApiError;

/// Objects below this size are written with one `PutObject`; larger ones in parts.
pub const MULTIPART_THRESHOLD: usize = 64 << 20;
/// The size of each part of a multipart upload (S3 allows 10,000: up to 160 GB).
pub const PART_SIZE: usize = 16 << 20;
/// Parts uploaded at once by one multipart upload.
const PARTS_IN_FLIGHT: usize = 4;
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
#[derive(Clone, Debug, serde::Serialize)]
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

/// Files under one directory.
#[derive(Debug)]
pub struct LocalDisk {
    root: PathBuf,
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
    async fn put(&self, key: &str, bytes: &[u8]) -> StorageResult<()> {
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

    async fn get(&self, key: &str) -> StorageResult<Vec<u8>> {
        Ok(tokio::fs::read(self.path(key)?).await?)
    }

    async fn ready(&self) -> bool {
        let probe = self.root.join(".ready");
        tokio::fs::write(&probe, b"ok").await.is_ok()
            && tokio::fs::remove_file(&probe).await.is_ok()
    }
}

fn temp_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.part", crate::new_id()))
}

/// One bucket of an S3-compatible store.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    bucket: String,
}

impl S3Store {
    /// A client from the standard AWS configuration, with `options` on top. The SDK retries
    /// transient errors (standard mode, exponential backoff with jitter, 5 attempts).
    pub async fn connect(bucket: &str, options: &S3Options) -> anyhow::Result<Self> {
        use aws_config::retry::RetryConfig;
        use aws_sdk_s3::config::Region;
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(5)
                    .with_initial_backoff(Duration::from_millis(100)),
            );
        if let Some(endpoint) = &options.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let shared = loader.load().await;
        let custom_endpoint = shared.endpoint_url().is_some();
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(options.path_style.unwrap_or(custom_endpoint));
        if shared.region().is_none() {
            config = config.region(Region::new("us-east-1"));
        }
        let client = Client::from_conf(config.build());
        Ok(Self { client, bucket: bucket.to_owned() })
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StorageResult<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            // Integrity comes from the SDK's CRC32 checksum (and TLS); hashing the payload for
            // the signature as well would cost a SHA-256 pass over every output.
            .customize()
            .disable_payload_signing()
            .send()
            .await
            .map_err(|e| classify(e, key))?;
        Ok(())
    }

    async fn get(&self, key: &str, prefix: Option<u64>) -> StorageResult<Vec<u8>> {
        let mut request = self.client.get_object().bucket(&self.bucket).key(key);
        if let Some(length) = prefix {
            request = request.range(format!("bytes=0-{}", length.max(1) - 1));
        }
        let object = request.send().await.map_err(|e| classify(e, key))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| StorageError::Transient(format!("reading {key}: {e}")))?;
        Ok(bytes.to_vec())
    }

    async fn size(&self, key: &str) -> StorageResult<Option<u64>> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(head) => Ok(Some(head.content_length().unwrap_or(0).max(0) as u64)),
            Err(e) => match classify(e, key) {
                StorageError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn delete(&self, key: &str) -> StorageResult<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify(e, key))?;
        Ok(())
    }

    async fn presign_put(
        &self,
        key: &str,
        length: u64,
        content_type: &str,
        ttl: Duration,
    ) -> StorageResult<Presigned> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(length as i64)
            .content_type(content_type)
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| StorageError::Permanent(format!("presigning: {e}")))?;
        Ok(Presigned {
            method: request.method().to_owned(),
            url: request.uri().to_owned(),
            headers: request.headers().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        })
    }

    async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        content_type: &str,
        ttl: Duration,
    ) -> StorageResult<String> {
        let safe: String = filename
            .chars()
            .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' })
            .collect();
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{safe}\""))
            .response_content_type(content_type)
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| StorageError::Permanent(format!("presigning: {e}")))?;
        Ok(request.uri().to_owned())
    }
}

fn presigning(ttl: Duration) -> StorageResult<PresigningConfig> {
    PresigningConfig::expires_in(ttl.min(MAX_URL_TTL))
        .map_err(|e| StorageError::Permanent(format!("presigning: {e}")))
}

/// An SDK error as retryable or not: timeouts, dropped connections, 5xx, 408 and 429 are
/// transient; 404 is a missing object; any other refusal is permanent.
fn classify<E>(e: SdkError<E, HttpResponse>, key: &str) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = aws_sdk_s3::error::DisplayErrorContext(&e).to_string();
    match &e {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let status = e.raw_response().map(|r| r.status().as_u16());
            if code == "NoSuchBucket" {
                StorageError::Permanent(format!("the bucket does not exist ({detail})"))
            } else if matches!(code, "NoSuchKey" | "NotFound") || status == Some(404) {
                StorageError::NotFound(key.to_owned())
            } else if status.is_some_and(|s| s >= 500 || s == 408 || s == 429)
                || matches!(code, "SlowDown" | "RequestTimeout" | "InternalError")
            {
                StorageError::Transient(detail)
            } else {
                StorageError::Permanent(detail)
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StorageError::Transient(detail)
        }
        _ => StorageError::Permanent(detail),
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

/// Streams an object to S3: buffered up to [`MULTIPART_THRESHOLD`] and sent with one
/// `PutObject` when it stays below, else a multipart upload whose parts go out on the runtime
/// while the engine keeps writing (two parts queued, four going up at once).
#[derive(Debug)]
pub struct MultipartSink {
    runtime: tokio::runtime::Handle,
    store: S3Store,
    key: String,
    content_type: String,
    buffer: Vec<u8>,
    upload: Option<Upload>,
    failure: Option<StorageError>,
    threshold: usize,
    part_size: usize,
}

#[derive(Debug)]
struct Upload {
    id: String,
    parts: mpsc::Sender<(i32, Vec<u8>)>,
    uploader: tokio::task::JoinHandle<StorageResult<Vec<CompletedPart>>>,
    next_part: i32,
}

impl MultipartSink {
    fn new(store: &S3Store, key: &str, content_type: &str) -> Self {
        Self {
            runtime: tokio::runtime::Handle::current(),
            store: store.clone(),
            key: key.to_owned(),
            content_type: content_type.to_owned(),
            buffer: Vec::new(),
            upload: None,
            failure: None,
            threshold: MULTIPART_THRESHOLD,
            part_size: PART_SIZE,
        }
    }

    /// Smaller thresholds and parts, for tests (S3 requires parts of at least 5 MiB).
    pub fn with_sizes(mut self, threshold: usize, part_size: usize) -> Self {
        self.threshold = threshold;
        self.part_size = part_size.max(5 << 20);
        self
    }

    fn fail(&mut self, e: StorageError) -> std::io::Error {
        let error = std::io::Error::other(e.to_string());
        self.failure = Some(e);
        error
    }

    fn start(&mut self) -> StorageResult<()> {
        let store = self.store.clone();
        let key = self.key.clone();
        let created = self.runtime.block_on(
            store
                .client
                .create_multipart_upload()
                .bucket(&store.bucket)
                .key(&key)
                .content_type(&self.content_type)
                .send(),
        );
        let id = created
            .map_err(|e| classify(e, &key))?
            .upload_id
            .ok_or_else(|| StorageError::Permanent("no upload id in the answer".into()))?;
        let (parts, mut queued) = mpsc::channel::<(i32, Vec<u8>)>(2);
        let upload_id = id.clone();
        let uploader = self.runtime.spawn(async move {
            // Up to PARTS_IN_FLIGHT parts go up at once while the engine keeps writing.
            let mut in_flight = tokio::task::JoinSet::new();
            let mut done = Vec::new();
            loop {
                let next =
                    if in_flight.len() < PARTS_IN_FLIGHT { queued.recv().await } else { None };
                match next {
                    Some((number, bytes)) => {
                        let store = store.clone();
                        let key = key.clone();
                        let upload_id = upload_id.clone();
                        in_flight.spawn(async move {
                            let part = store
                                .client
                                .upload_part()
                                .bucket(&store.bucket)
                                .key(&key)
                                .upload_id(&upload_id)
                                .part_number(number)
                                .body(ByteStream::from(bytes))
                                .customize()
                                .disable_payload_signing()
                                .send()
                                .await
                                .map_err(|e| classify(e, &key))?;
                            Ok::<_, StorageError>(
                                CompletedPart::builder()
                                    .part_number(number)
                                    .set_e_tag(part.e_tag().map(str::to_owned))
                                    .build(),
                            )
                        });
                    }
                    None => match in_flight.join_next().await {
                        Some(finished) => done.push(finished.map_err(|e| {
                            StorageError::Transient(format!("a part upload failed: {e}"))
                        })??),
                        // The sender is gone and every part is up.
                        None => break,
                    },
                }
            }
            done.sort_by_key(|part| part.part_number());
            Ok(done)
        });
        self.upload = Some(Upload { id, parts, uploader, next_part: 1 });
        Ok(())
    }

    fn send_part(&mut self, bytes: Vec<u8>) -> StorageResult<()> {
        let upload = self.upload.as_mut().expect("started");
        let number = upload.next_part;
        upload.next_part += 1;
        if upload.parts.blocking_send((number, bytes)).is_err() {
            // The uploader stopped on an error: collect it.
            let upload = self.upload.take().expect("started");
            let result = self.runtime.block_on(upload.uploader);
            self.abort(upload.id);
            return Err(match result {
                Ok(Err(e)) => e,
                _ => StorageError::Transient("the part uploader stopped".into()),
            });
        }
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Some(e) = &self.failure {
            return Err(std::io::Error::other(e.to_string()));
        }
        self.buffer.extend_from_slice(data);
        if self.upload.is_none() {
            if self.buffer.len() < self.threshold {
                return Ok(data.len());
            }
            if let Err(e) = self.start() {
                return Err(self.fail(e));
            }
        }
        while self.buffer.len() >= self.part_size {
            let part: Vec<u8> = self.buffer.drain(..self.part_size).collect();
            if let Err(e) = self.send_part(part) {
                return Err(self.fail(e));
            }
        }
        Ok(data.len())
    }

    fn finish(mut self) -> StorageResult<u64> {
        if let Some(e) = self.failure.take() {
            return Err(e);
        }
        let Some(mut upload) = self.upload.take() else {
            let size = self.buffer.len() as u64;
            let bytes = std::mem::take(&mut self.buffer);
            self.runtime.block_on(self.store.put(&self.key, bytes, &self.content_type))?;
            return Ok(size);
        };
        let tail = std::mem::take(&mut self.buffer);
        let mut size = u64::from(upload.next_part as u32 - 1) * self.part_size as u64;
        size += tail.len() as u64;
        if !tail.is_empty() || upload.next_part == 1 {
            let number = upload.next_part;
            upload.next_part += 1;
            let _ = upload.parts.blocking_send((number, tail));
        }
        let Upload { id, parts, uploader, .. } = upload;
        drop(parts);
        let completed = match self.runtime.block_on(uploader) {
            Ok(Ok(parts)) => parts,
            Ok(Err(e)) => {
                self.abort(id);
                return Err(e);
            }
            Err(e) => {
                self.abort(id);
                return Err(StorageError::Transient(format!("the part uploader failed: {e}")));
            }
        };
        let store = &self.store;
        let done = self.runtime.block_on(
            store
                .client
                .complete_multipart_upload()
                .bucket(&store.bucket)
                .key(&self.key)
                .upload_id(&id)
                .multipart_upload(
                    CompletedMultipartUpload::builder().set_parts(Some(completed)).build(),
                )
                .send(),
        );
        if let Err(e) = done {
            let e = classify(e, &self.key);
            self.abort(id);
            return Err(e);
        }
        Ok(size)
    }

    /// Abandons a multipart upload so that its parts do not linger in the bucket.
    fn abort(&self, id: String) {
        let store = self.store.clone();
        let key = self.key.clone();
        self.runtime.spawn(async move {
            let _ = store
                .client
                .abort_multipart_upload()
                .bucket(&store.bucket)
                .key(&key)
                .upload_id(id)
                .send()
                .await;
        });
    }
}

impl Drop for MultipartSink {
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take() {
            upload.uploader.abort();
            self.abort(upload.id);
        }
    }
}
