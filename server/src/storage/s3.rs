//! Storage in one bucket of an S3-compatible store: presigned URLs, and SDK errors sorted
//! into transient and permanent.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use super::{MAX_URL_TTL, Presigned, S3Options, StorageError, StorageResult};

/// One bucket of an S3-compatible store.
#[derive(Clone, Debug)]
pub struct S3Store {
    pub(super) client: Client,
    pub(super) bucket: String,
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

    pub(super) async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> StorageResult<()> {
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

    pub(super) async fn get(&self, key: &str, prefix: Option<u64>) -> StorageResult<Vec<u8>> {
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

    pub(super) async fn size(&self, key: &str) -> StorageResult<Option<u64>> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(head) => Ok(Some(head.content_length().unwrap_or(0).max(0) as u64)),
            Err(e) => match classify(e, key) {
                StorageError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    pub(super) async fn delete(&self, key: &str) -> StorageResult<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify(e, key))?;
        Ok(())
    }

    /// Deletes every object under `prefix`, a thousand keys a request; returns how many.
    pub(super) async fn delete_prefix(&self, prefix: &str) -> StorageResult<u64> {
        let mut deleted = 0;
        loop {
            // Listed afresh each round: what was deleted is gone from the listing.
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .max_keys(1000)
                .send()
                .await
                .map_err(|e| classify(e, prefix))?;
            let keys: Vec<String> =
                page.contents().iter().filter_map(|o| o.key()).map(str::to_owned).collect();
            if keys.is_empty() {
                return Ok(deleted);
            }
            deleted += keys.len() as u64;
            self.delete_keys(&keys).await?;
        }
    }

    /// Deletes up to 1,000 keys in one request.
    pub(super) async fn delete_keys(&self, keys: &[String]) -> StorageResult<()> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        if keys.is_empty() {
            return Ok(());
        }
        let objects: Vec<ObjectIdentifier> =
            keys.iter().filter_map(|k| ObjectIdentifier::builder().key(k).build().ok()).collect();
        let batch = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| StorageError::Permanent(e.to_string()))?;
        let answer = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(batch)
            .send()
            .await
            .map_err(|e| classify(e, &keys[0]))?;
        // Quiet mode lists only failures; a key that was not there is not one.
        match answer.errors().iter().find(|e| e.code() != Some("NoSuchKey")) {
            Some(failed) => Err(StorageError::Transient(format!(
                "deleting {}: {}",
                failed.key().unwrap_or_default(),
                failed.message().unwrap_or("refused")
            ))),
            None => Ok(()),
        }
    }

    /// The object's body, as a stream of chunks.
    pub(super) async fn body(&self, key: &str) -> StorageResult<ByteStream> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify(e, key))?;
        Ok(object.body)
    }

    pub(super) async fn presign_put(
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

    pub(super) async fn presign_get(
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

pub(super) fn presigning(ttl: Duration) -> StorageResult<PresigningConfig> {
    PresigningConfig::expires_in(ttl.min(MAX_URL_TTL))
        .map_err(|e| StorageError::Permanent(format!("presigning: {e}")))
}

/// An SDK error as retryable or not: timeouts, dropped connections, 5xx, 408 and 429 are
/// transient; 404 is a missing object; any other refusal is permanent.
pub(super) fn classify<E>(e: SdkError<E, HttpResponse>, key: &str) -> StorageError
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
