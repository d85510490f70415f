//! The S3 lock backend (`[lock] backend = "s3://bucket/prefix"`), for applies on different
//! machines: the lock is the object `prefix/lock.json`, created with a conditional write
//! (`If-None-Match: *`), so exactly one writer can create it; it holds the holder's
//! [`LockInfo`]. Release reads it back, checks the ID and deletes it. Journal records go to
//! `prefix/journal/`. Endpoint, region and credentials come from the usual `AWS_*` variables;
//! `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` points it at any S3-compatible store (such as
//! KakaoCloud Object Storage, or a local test server).

use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore as _, PutMode, PutOptions, PutPayload};

use super::{LockError, LockInfo, parse_info};

/// Endpoint override variables, most specific first.
pub const ENDPOINT_ENVS: [&str; 2] = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"];

/// One bucket and prefix.
pub struct S3 {
    store: AmazonS3,
    bucket: String,
    prefix: String,
}

impl S3 {
    /// A client for `s3://bucket/prefix`, configured from the environment.
    pub fn new(bucket: &str, prefix: &str) -> Result<S3, LockError> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_conditional_put(S3ConditionalPut::ETagMatch);
        let endpoint = ENDPOINT_ENVS
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
        if let Some(endpoint) = endpoint {
            // Plain HTTP is for loopback test servers; the URL was chosen by whoever set it.
            builder = builder
                .with_allow_http(endpoint.starts_with("http://"))
                .with_endpoint(endpoint);
        }
        let store = builder.build().map_err(|e| LockError::Remote {
            location: format!("s3://{bucket}/{prefix}"),
            detail: e.to_string(),
        })?;
        Ok(S3 {
            store,
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
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

    fn remote(&self, error: object_store::Error) -> LockError {
        LockError::Remote {
            location: self.lock_location(),
            detail: error.to_string(),
        }
    }

    /// Creates the lock object, or reports who holds it.
    pub async fn try_acquire(&self, info: &LockInfo) -> Result<(), LockError> {
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
                Some(holder) => Err(LockError::Held(Box::new(holder))),
                // Released between our write and our read: report it as held by nobody in
                // particular, and the caller's next attempt will most likely get it.
                None => Err(LockError::Held(Box::new(LockInfo {
                    id: "(released)".into(),
                    who: "another apply".into(),
                    operation: "apply".into(),
                    created: super::now_rfc3339(),
                    host: "unknown".into(),
                }))),
            },
            // Some S3-compatible stores refuse a failed precondition with another status; a
            // lock object that exists is the answer either way.
            Err(error) => match self.holder().await {
                Ok(Some(holder)) => Err(LockError::Held(Box::new(holder))),
                _ => Err(self.remote(error)),
            },
        }
    }

    async fn holder(&self) -> Result<Option<LockInfo>, LockError> {
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
    pub async fn remove(&self, id: &str) -> Result<LockInfo, LockError> {
        let holder = self
            .holder()
            .await?
            .ok_or_else(|| LockError::NotLocked(self.lock_location()))?;
        if holder.id != id {
            return Err(LockError::IdMismatch {
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
    pub async fn write_journal(&self, name: &str, bytes: Vec<u8>) -> Result<String, LockError> {
        let key = self.key(&format!("journal/{name}"));
        self.store
            .put(&key, PutPayload::from(bytes))
            .await
            .map_err(|e| LockError::Remote {
                location: format!("s3://{}/{key}", self.bucket),
                detail: e.to_string(),
            })?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }

    /// Reads `prefix/<name>`; `None` when there is no such object.
    pub async fn read_record(&self, name: &str) -> Result<Option<Vec<u8>>, LockError> {
        let key = self.key(name);
        let location = format!("s3://{}/{key}", self.bucket);
        let remote = |e: object_store::Error| LockError::Remote {
            location: location.clone(),
            detail: e.to_string(),
        };
        match self.store.get(&key).await {
            Ok(result) => Ok(Some(result.bytes().await.map_err(remote)?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(remote(error)),
        }
    }

    /// Writes `prefix/<name>`, or deletes it when `bytes` is `None`.
    pub async fn write_record(&self, name: &str, bytes: Option<Vec<u8>>) -> Result<(), LockError> {
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
        result.map_err(|e| LockError::Remote {
            location: format!("s3://{}/{key}", self.bucket),
            detail: e.to_string(),
        })
    }
}
