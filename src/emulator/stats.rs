//! Request counters, read with `GET /_emulator/stats` (documented in `docs/api.md`): how many
//! API requests the emulator received (every route except `/_emulator/…`), by method, how
//! many were refused by a `rate_limit` fault, and how many changes were committed (one
//! database transaction each). The benchmark harness compares them with the fewest requests
//! the API allows.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use serde::{Deserialize, Serialize};

use super::state::EmulatorState;

/// Live counters; shared by every request.
#[derive(Debug, Default)]
pub struct Stats {
    get: AtomicU64,
    post: AtomicU64,
    patch: AtomicU64,
    delete: AtomicU64,
    other: AtomicU64,
    rate_limited: AtomicU64,
    changes: AtomicU64,
}

/// The counters as `GET /_emulator/stats` answers them (`{"stats": …}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsView {
    /// API requests received, every method.
    pub requests: u64,
    /// `GET` requests.
    pub get: u64,
    /// `POST` requests.
    pub post: u64,
    /// `PATCH` requests.
    pub patch: u64,
    /// `DELETE` requests.
    pub delete: u64,
    /// Requests answered 429 by a `rate_limit` fault.
    pub rate_limited: u64,
    /// Changes committed, each one database transaction.
    pub changes: u64,
}

/// `{"stats": {…}}`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct StatsBody {
    /// The counters.
    pub stats: StatsView,
}

impl Stats {
    /// Counts one API request.
    pub fn request(&self, method: &Method) {
        let counter = match *method {
            Method::GET => &self.get,
            Method::POST => &self.post,
            Method::PATCH => &self.patch,
            Method::DELETE => &self.delete,
            _ => &self.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request refused by a rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one committed change.
    pub fn change(&self) {
        self.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn view(&self) -> StatsView {
        let get = self.get.load(Ordering::Relaxed);
        let post = self.post.load(Ordering::Relaxed);
        let patch = self.patch.load(Ordering::Relaxed);
        let delete = self.delete.load(Ordering::Relaxed);
        let other = self.other.load(Ordering::Relaxed);
        StatsView {
            requests: get + post + patch + delete + other,
            get,
            post,
            patch,
            delete,
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            changes: self.changes.load(Ordering::Relaxed),
        }
    }
}

/// `GET /_emulator/stats`.
pub async fn get(State(state): State<EmulatorState>) -> Json<StatsBody> {
    Json(StatsBody {
        stats: state.stats().view(),
    })
}
