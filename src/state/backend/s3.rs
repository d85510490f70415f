//! The S3 backend (`[lock] backend = "s3://bucket/prefix"`), for applies on different
//! machines: the lock is the object `prefix/lock.json`, created with a conditional write
//! (`If-None-Match: *`), so exactly one writer can create it; it holds the holder's
//! [`LockInfo`]. Release reads it back, checks the ID and deletes it. Journal records go to
//! `prefix/journal/`. Endpoint, region and credentials come from the usual `AWS_*` variables;
//! `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` points it at any S3-compatible store (such as
//! KakaoCloud Object Storage, or a local test server).

use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore as _, PutMode, PutOptions, PutPayload};

use super::{BackendError, parse_info};
use crate::state::lock::LockInfo;

/// One bucket and prefix.
pub struct S3 {
    store: AmazonS3,
    bucket: String,
    prefix: String,
    /// Whether the bucket answered a listing of the prefix (checked once, before the first
    /// record is read): S3 answers a read in a bucket that does not exist with the same 404 as
    /// a missing object, which would read as "no record yet".
    reachable: tokio::sync::OnceCell<Result<(), String>>,
}

/// What a failed S3 call means, in words that say what to set or fix; `detail` is the object
/// store's own error text.
pub fn explain(bucket: &str, prefix: &str, detail: &str) -> String {
    if detail.contains("169.254.169.254") || detail.contains("credential") {
        "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_REGION; \
         AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL for an S3-compatible store such as KakaoCloud \
         Object Storage); none were in the environment and the instance metadata service gave \
         none"
            .to_string()
    } else if detail.contains("NoSuchBucket") {
        format!(
            "bucket `{bucket}` does not exist at this endpoint: create it, or fix `[lock] backend` \
             (and AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL when the store is not AWS)"
        )
    } else if detail.contains("AccessDenied") || detail.contains("403 Forbidden") {
        let objects = if prefix.is_empty() {
            format!("{bucket}/*")
        } else {
            format!("{bucket}/{prefix}/*")
        };
        format!(
            "access denied: the credential in AWS_ACCESS_KEY_ID needs to list bucket `{bucket}` and \
             to get, put and delete the objects `{objects}` ({detail})"
        )
    } else if detail.contains("InvalidAccessKeyId") || detail.contains("SignatureDoesNotMatch") {
        format!(
            "the store refused the credential: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ({detail})"
        )
    } else {
        detail.to_string()
    }
}

impl S3 {
    /// A client for `s3://bucket/prefix` at `endpoint` (`None`: AWS), with credentials and
    /// region as the S3 library reads them from the `AWS_*` variables.
    pub fn new(bucket: &str, prefix: &str, endpoint: Option<&str>) -> Result<S3, BackendError> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_conditional_put(S3ConditionalPut::ETagMatch);
        if let Some(endpoint) = endpoint {
            // Plain HTTP is for loopback test servers; the URL was chosen by whoever set it.
            builder = builder
                .with_allow_http(endpoint.starts_with("http://"))
                .with_endpoint(endpoint);
        }
        let store = builder.build().map_err(|e| BackendError::Remote {
            location: format!("s3://{bucket}/{prefix}"),
            detail: e.to_string(),
        })?;
        Ok(S3 {
            store,
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            reachable: tokio::sync::OnceCell::new(),
        })
    }

    /// Lists the prefix once, so that a bucket that does not exist, a missing credential or a
    /// refused one is reported as such instead of as records that are not there yet.
    async fn check_reachable(&self) -> Result<(), BackendError> {
        let checked = self
            .reachable
            .get_or_init(|| async {
                let prefix =
                    (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
                self.store
                    .list_with_delimiter(prefix.as_ref())
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
            .await;
        checked.clone().map_err(|detail| BackendError::Remote {
            location: format!("s3://{}/{}", self.bucket, self.prefix),
            detail: explain(&self.bucket, &self.prefix, &detail),
        })
    }

    fn key(&self, name: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }

    fn lock_key(&self) -> ObjectPath {
        self.key("lock.json")
    }

    /// `s3://bucket/prefix/lock.json`.
    pub fn lock_location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.lock_key())
    }

    fn remote(&self, error: object_store::Error) -> BackendError {
        BackendError::Remote {
            location: self.lock_location(),
            detail: explain(&self.bucket, &self.prefix, &error.to_string()),
        }
    }

    /// Creates the lock object, or reports who holds it.
    pub async fn try_acquire(&self, info: &LockInfo) -> Result<(), BackendError> {
        let bytes = serde_json::to_vec_pretty(info).unwrap_or_default();
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&self.lock_key(), PutPayload::from(bytes), options)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => match self.holder().await? {
                Some(holder) => Err(BackendError::Held(Box::new(holder))),
                // Released between our write and our read: report it as held by nobody in
                // particular, and the caller's next attempt will most likely get it.
                None => Err(BackendError::Held(Box::new(LockInfo {
                    id: "(released)".into(),
                    who: "another apply".into(),
                    operation: "apply".into(),
                    created: crate::state::lock::now_rfc3339(),
                    host: "unknown".into(),
                }))),
            },
            // Some S3-compatible stores refuse a failed precondition with another status; a
            // lock object that exists is the answer either way.
            Err(error) => match self.holder().await {
                Ok(Some(holder)) => Err(BackendError::Held(Box::new(holder))),
                _ => Err(self.remote(error)),
            },
        }
    }

    async fn holder(&self) -> Result<Option<LockInfo>, BackendError> {
        match self.store.get(&self.lock_key()).await {
            Ok(result) => {
                let bytes = result.bytes().await.map_err(|e| self.remote(e))?;
                parse_info(&bytes, &self.lock_location()).map(Some)
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(self.remote(error)),
        }
    }

    /// Deletes the lock object if its ID is `id`; returns the holder removed.
    pub async fn remove(&self, id: &str) -> Result<LockInfo, BackendError> {
        let holder = self
            .holder()
            .await?
            .ok_or_else(|| BackendError::NotLocked(self.lock_location()))?;
        if holder.id != id {
            return Err(BackendError::IdMismatch {
                given: id.to_string(),
                holder: Box::new(holder),
            });
        }
        self.store
            .delete(&self.lock_key())
            .await
            .map_err(|e| self.remote(e))?;
        Ok(holder)
    }

    /// Writes `prefix/journal/<name>`.
    pub async fn write_journal(&self, name: &str, bytes: Vec<u8>) -> Result<String, BackendError> {
        let key = self.key(&format!("journal/{name}"));
        self.store
            .put(&key, PutPayload::from(bytes))
            .await
            .map_err(|e| BackendError::Remote {
                location: format!("s3://{}/{key}", self.bucket),
                detail: explain(&self.bucket, &self.prefix, &e.to_string()),
            })?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }

    /// Reads `prefix/<name>`; `None` when there is no such object.
    pub async fn read_record(&self, name: &str) -> Result<Option<Vec<u8>>, BackendError> {
        self.check_reachable().await?;
        let key = self.key(name);
        let location = format!("s3://{}/{key}", self.bucket);
        let remote = |e: object_store::Error| BackendError::Remote {
            location: location.clone(),
            detail: explain(&self.bucket, &self.prefix, &e.to_string()),
        };
        match self.store.get(&key).await {
            Ok(result) => Ok(Some(result.bytes().await.map_err(remote)?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(remote(error)),
        }
    }

    /// Writes `prefix/<name>`, or deletes it when `bytes` is `None`.
    pub async fn write_record(
        &self,
        name: &str,
        bytes: Option<Vec<u8>>,
    ) -> Result<(), BackendError> {
        let key = self.key(name);
        let result = match bytes {
            Some(bytes) => self
                .store
                .put(&key, PutPayload::from(bytes))
                .await
                .map(|_| ()),
            None => match self.store.delete(&key).await {
                Err(object_store::Error::NotFound { .. }) => Ok(()),
                other => other,
            },
        };
        result.map_err(|e| BackendError::Remote {
            location: format!("s3://{}/{key}", self.bucket),
            detail: explain(&self.bucket, &self.prefix, &e.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::explain;

    #[test]
    fn s3_failures_say_what_to_set_or_fix() {
        let imds = "Generic S3 error: Error performing PUT http://169.254.169.254/latest/api/token in 2ms - Server returned non-2xx status code: 403 Forbidden";
        let text = explain("state", "team-a", imds);
        assert!(
            text.starts_with("no S3 credentials: set AWS_ACCESS_KEY_ID"),
            "{text}"
        );
        assert!(!text.contains("169.254"), "{text}");
        let text = explain(
            "state",
            "team-a",
            "Error: 404 Not Found: <Code>NoSuchBucket</Code>",
        );
        assert!(text.starts_with("bucket `state` does not exist"), "{text}");
        let text = explain(
            "state",
            "team-a",
            "Error: 403 Forbidden: <Code>AccessDenied</Code>",
        );
        assert!(text.contains("`state/team-a/*`"), "{text}");
        assert_eq!(explain("state", "", "timed out"), "timed out");
    }
}
