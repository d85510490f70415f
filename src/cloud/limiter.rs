//! Adaptive concurrency: an AIMD limit on the client's requests in flight.
//!
//! The limit starts at `parallelism` (the most it may ever be), so against an API that never
//! pushes back the client behaves as a plain semaphore of `parallelism` permits. When the API
//! answers 429 the limit halves (multiplicative decrease) — once per round trip, not once per
//! refused request: only a request sent after the previous decrease can cause another — and
//! every request waits until the `Retry-After` the server asked for has passed, so refused
//! requests do not come back as a synchronized storm. Each success then grows the limit by
//! `1 / limit` (additive increase: about one more request in flight per round trip), back up
//! to `parallelism`.
//!
//! Against a per-second rate limit, concurrency alone would alternate bursts and pauses. So the
//! first 429 of a round also sets a pace: 90% of the successes counted over the last second,
//! with request starts spread evenly at that rate, which keeps the client under the server's
//! limit without further refusals; each success then raises the pace a little (by one request
//! per second per second, or 5% per second when that is more), so it creeps back up and finds
//! the limit again if it rises. The rate at which the server refused is remembered as its
//! ceiling: within 5% of it the pace creeps up only by 0.2% per second, because every refusal
//! costs a whole `Retry-After` pause; so a steady limit is met at about 95% or more of its rate,
//! and a risen one is still found, slowly. Fewer than [`MIN_RATE_SAMPLES`] successes in the
//! last second tell no rate (a 429 before the first success, or just after a `Retry-After`
//! pause): such a 429 leaves the pace and the ceiling as they were.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Lowest limit the decrease goes to.
const MIN_LIMIT: f64 = 1.0;
/// Share of the observed rate the pace is set to after a 429.
const PACE_SHARE: f64 = 0.9;
/// Least a success raises the pace by (requests per second): at a pace `p` the pace grows by
/// at least `p · PACE_STEP` per second, 5%, and by one request per second when that is more.
const PACE_STEP: f64 = 0.05;
/// Share of the ceiling (the rate of the last refusal) above which the pace only creeps.
const CEILING_SHARE: f64 = 0.95;
/// How much a success raises the pace near the ceiling: 0.2% per second.
const CREEP_STEP: f64 = 0.002;
/// Window over which successes are counted to estimate the server's rate.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Fewest successes in the window that a pace and a ceiling are learnt from. Fewer say nothing
/// about a rate limit: a 429 before the first success, or the first after a `Retry-After`
/// pause (which emptied the window), or a burst of 429s early in a run would otherwise set
/// the pace at one request per second and the ceiling there too, where it only creeps (0.2%
/// per second): a single refusal would slow the rest of the run to about one request per
/// second. Against a limit this low, halving and the `Retry-After` pauses still hold the
/// client to it.
const MIN_RATE_SAMPLES: usize = 10;

#[derive(Debug)]
struct State {
    /// The most requests in flight, ever.
    max: usize,
    /// Current limit (fractional, so that additive increase can be gradual).
    limit: f64,
    /// Requests holding a permit.
    in_flight: usize,
    /// Bumped on every decrease; a permit remembers the value it was taken under.
    epoch: u64,
    /// No new request starts before this instant (the server's `Retry-After`).
    resume_at: Option<Instant>,
    /// Requests per second, once a 429 has been seen.
    pace: Option<f64>,
    /// Successes per second counted when the server last refused one.
    ceiling: Option<f64>,
    /// When the next request may start under `pace`.
    next_start: Option<Instant>,
    /// When recent requests succeeded (the last [`RATE_WINDOW`]).
    recent: VecDeque<Instant>,
}

/// The limiter of one client; cheap to share.
#[derive(Debug, Clone)]
pub struct Limiter {
    state: Arc<Mutex<State>>,
    released: Arc<Notify>,
}

/// Leave to send one request; dropping it frees the slot.
#[derive(Debug)]
pub struct Permit {
    limiter: Limiter,
    epoch: u64,
}

impl Limiter {
    /// A limiter that allows at most `max` requests in flight (at least 1).
    pub fn new(max: usize) -> Limiter {
        let max = max.max(1);
        Limiter {
            state: Arc::new(Mutex::new(State {
                max,
                limit: max as f64,
                in_flight: 0,
                epoch: 0,
                resume_at: None,
                pace: None,
                ceiling: None,
                next_start: None,
                recent: VecDeque::new(),
            })),
            released: Arc::new(Notify::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a few numbers that stay consistent whatever a panic interrupted.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets the most requests in flight (at least 1), starting the limit afresh there: for a
    /// client made before the configuration that sets its parallelism was read.
    pub fn set_max(&self, max: usize) {
        {
            let mut state = self.lock();
            state.max = max.max(1);
            state.limit = state.max as f64;
        }
        self.released.notify_waiters();
    }

    /// The current limit, rounded down (for tests and diagnostics).
    pub fn limit(&self) -> usize {
        self.lock().limit as usize
    }

    /// Waits for a free slot under the current limit and past any `Retry-After` pause.
    pub async fn acquire(&self) -> Permit {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let pause = {
                let mut state = self.lock();
                let now = Instant::now();
                let hold = [state.resume_at, state.next_start]
                    .into_iter()
                    .flatten()
                    .filter(|at| *at > now)
                    .max();
                match hold {
                    Some(at) => Some(at),
                    _ => {
                        state.resume_at = None;
                        if (state.in_flight as f64) < state.limit.floor().max(MIN_LIMIT) {
                            state.in_flight += 1;
                            if let Some(pace) = state.pace {
                                let interval = Duration::from_secs_f64(1.0 / pace);
                                // Counted from when this start was due, not from now: timers
                                // wake a millisecond or so late, which at a few milliseconds
                                // apart would slow the pace by a fifth. An idle spell earns
                                // no burst beyond one interval.
                                let earliest = now.checked_sub(interval).unwrap_or(now);
                                let due = state.next_start.map_or(now, |due| due.max(earliest));
                                state.next_start = Some(due + interval);
                            }
                            return Permit {
                                limiter: self.clone(),
                                epoch: state.epoch,
                            };
                        }
                        None
                    }
                }
            };
            match pause {
                Some(at) => tokio::time::sleep_until(at).await,
                None => released.await,
            }
        }
    }
}

impl Permit {
    /// The request succeeded (or failed for a reason that says nothing about load): grow the
    /// limit by `1 / limit`, up to the maximum.
    pub fn succeeded(&self) {
        let mut state = self.limiter.lock();
        let max = state.max as f64;
        state.limit = (state.limit + 1.0 / state.limit.max(MIN_LIMIT)).min(max);
        let ceiling = state.ceiling;
        if let Some(pace) = state.pace.as_mut() {
            let near_ceiling = ceiling.is_some_and(|c| *pace >= c * CEILING_SHARE);
            *pace += if near_ceiling {
                CREEP_STEP
            } else {
                (1.0 / *pace).max(PACE_STEP)
            };
        }
        let now = Instant::now();
        state.recent.push_back(now);
        while state
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > RATE_WINDOW)
        {
            state.recent.pop_front();
        }
    }

    /// The server refused the request as too many (429): halve the limit unless a request
    /// sent after this one's start already did, and pause every request for `retry_after`.
    pub fn throttled(&self, retry_after: Option<Duration>) {
        let mut state = self.limiter.lock();
        if state.epoch == self.epoch {
            state.limit = (state.limit / 2.0).max(MIN_LIMIT);
            state.epoch += 1;
            let now = Instant::now();
            let observed = state
                .recent
                .iter()
                .filter(|t| now.duration_since(**t) <= RATE_WINDOW)
                .count();
            // Too few to tell a rate by: the pace and ceiling stay as they were.
            if observed >= MIN_RATE_SAMPLES {
                let observed = observed as f64;
                state.pace = Some((observed * PACE_SHARE).max(MIN_LIMIT));
                state.ceiling = Some(observed.max(MIN_LIMIT));
            }
        }
        if let Some(wait) = retry_after {
            let at = Instant::now() + wait;
            state.resume_at = Some(state.resume_at.map_or(at, |current| current.max(at)));
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limiter.lock().in_flight -= 1;
        // One slot freed, one waiter woken: waking them all would have each of hundreds of
        // queued requests poll, find the slot taken and queue again, on every release. A woken
        // waiter that was dropped meanwhile passes the wake-up on (tokio's `Notify`).
        self.limiter.released.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn it_is_a_semaphore_of_max_permits_without_push_back() {
        let limiter = Limiter::new(3);
        let permits = [
            limiter.acquire().await,
            limiter.acquire().await,
            limiter.acquire().await,
        ];
        let fourth = tokio::time::timeout(Duration::from_millis(50), limiter.acquire()).await;
        assert!(fourth.is_err(), "a fourth request must wait");
        drop(permits);
        let again = tokio::time::timeout(Duration::from_millis(50), limiter.acquire()).await;
        assert!(again.is_ok());
    }

    #[tokio::test]
    async fn a_429_halves_once_per_round_and_success_grows_it_back() {
        let limiter = Limiter::new(8);
        let round: Vec<Permit> =
            futures_util::future::join_all((0..8).map(|_| limiter.acquire())).await;
        // Every request of the round is refused: one halving, not eight.
        for permit in &round {
            permit.throttled(None);
        }
        assert_eq!(limiter.limit(), 4);
        drop(round);
        let next = limiter.acquire().await;
        next.throttled(None);
        assert_eq!(limiter.limit(), 2);
        for _ in 0..200 {
            next.succeeded();
        }
        assert_eq!(limiter.limit(), 8, "grows back, never above the maximum");
    }

    #[tokio::test]
    async fn after_a_429_the_pace_stays_just_under_the_rate_that_was_refused() {
        let limiter = Limiter::new(8);
        let permit = limiter.acquire().await;
        for _ in 0..100 {
            permit.succeeded();
        }
        permit.throttled(None);
        let pace = |l: &Limiter| l.lock().pace.expect("paced after a 429");
        assert!((pace(&limiter) - 90.0).abs() < 1e-9, "90% of the 100 seen");
        // Ten seconds' worth of successes at about that pace: it climbs fast to 95 of the
        // 100, then only creeps.
        for _ in 0..950 {
            permit.succeeded();
        }
        let after = pace(&limiter);
        assert!(after >= 95.0, "climbed back near the ceiling: {after}");
        assert!(
            after < 97.5,
            "but stays under the rate that was refused: {after}"
        );
    }

    #[tokio::test]
    async fn a_429_with_too_few_successes_to_tell_a_rate_sets_no_pace() {
        let pace = |l: &Limiter| l.lock().pace;
        let limiter = Limiter::new(8);
        // Before any success (a run's first request refused).
        limiter.acquire().await.throttled(None);
        assert_eq!(pace(&limiter), None);
        // After a few.
        let permit = limiter.acquire().await;
        for _ in 0..MIN_RATE_SAMPLES - 1 {
            permit.succeeded();
        }
        permit.throttled(None);
        assert_eq!(pace(&limiter), None, "nine successes tell no rate");
        assert_eq!(
            limiter.limit(),
            2,
            "but each refusal still halves the limit"
        );
    }

    #[tokio::test]
    async fn a_429_after_a_retry_after_pause_keeps_the_pace_it_learnt() {
        let limiter = Limiter::new(8);
        let permit = limiter.acquire().await;
        for _ in 0..40 {
            permit.succeeded();
        }
        // A pause a little longer than the window, which it leaves empty.
        permit.throttled(Some(RATE_WINDOW + Duration::from_millis(50)));
        drop(permit);
        let learnt = limiter.lock().pace.expect("paced after a 429");
        assert!((learnt - 36.0).abs() < 1e-9, "90% of the 40 seen");
        // The first request after the pause is refused again.
        limiter.acquire().await.throttled(None);
        assert_eq!(
            limiter.lock().pace,
            Some(learnt),
            "not one request per second"
        );
    }

    #[tokio::test]
    async fn retry_after_pauses_every_new_request() {
        let limiter = Limiter::new(4);
        let permit = limiter.acquire().await;
        permit.throttled(Some(Duration::from_millis(300)));
        drop(permit);
        let started = Instant::now();
        let _next = limiter.acquire().await;
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
}
