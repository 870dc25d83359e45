//! Writing an object to S3 as the engine produces it: one `PutObject` when it stays small,
//! else a multipart upload whose parts go up while the engine keeps writing.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::sync::mpsc;

use super::s3::classify;
use super::{S3Store, StorageError, StorageResult};

/// Objects below this size are written with one `PutObject`; larger ones in parts.
pub const MULTIPART_THRESHOLD: usize = 64 << 20;
/// The size of each part of a multipart upload (S3 allows 10,000: up to 160 GB).
pub const PART_SIZE: usize = 16 << 20;
/// Parts uploaded at once by one multipart upload.
const PARTS_IN_FLIGHT: usize = 4;

/// Streams an object to S3: buffered up to [`MULTIPART_THRESHOLD`] and sent with one
/// `PutObject` when it stays below, else a multipart upload whose parts go out on the runtime
/// while the engine keeps writing (two parts queued, four going up at once).
#[derive(Debug)]
pub struct MultipartSink {
    pub(super) runtime: tokio::runtime::Handle,
    pub(super) store: S3Store,
    pub(super) key: String,
    pub(super) content_type: String,
    pub(super) buffer: Vec<u8>,
    pub(super) upload: Option<Upload>,
    pub(super) failure: Option<StorageError>,
    pub(super) threshold: usize,
    pub(super) part_size: usize,
}

#[derive(Debug)]
pub(super) struct Upload {
    pub(super) id: String,
    pub(super) parts: mpsc::Sender<(i32, Vec<u8>)>,
    pub(super) uploader: tokio::task::JoinHandle<StorageResult<Vec<CompletedPart>>>,
    pub(super) next_part: i32,
}

impl MultipartSink {
    pub(super) fn new(store: &S3Store, key: &str, content_type: &str) -> Self {
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

    /// Smaller thresholds and parts (S3 requires at least 5 MiB): for long writes that should
    /// hold little memory (data exports), and for tests.
    pub fn with_sizes(mut self, threshold: usize, part_size: usize) -> Self {
        self.threshold = threshold;
        self.part_size = part_size.max(5 << 20);
        self
    }

    pub(super) fn fail(&mut self, e: StorageError) -> std::io::Error {
        let error = std::io::Error::other(e.to_string());
        self.failure = Some(e);
        error
    }

    pub(super) fn start(&mut self) -> StorageResult<()> {
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

    pub(super) fn send_part(&mut self, bytes: Vec<u8>) -> StorageResult<()> {
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

    pub(super) fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
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
        // The threshold's buffer is not kept once parts go out: it would double what a long
        // write holds.
        if self.buffer.capacity() > 2 * self.part_size {
            self.buffer.shrink_to(self.part_size);
        }
        Ok(data.len())
    }

    pub(super) fn finish(mut self) -> StorageResult<u64> {
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
    pub(super) fn abort(&self, id: String) {
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
