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
//! Against a per-second rate limit, concurrency alone would alternate bursts and pauses. So a
//! 429 also sets a pace — request starts spread evenly at a rate — when there is evidence of
//! the server's rate: at least [`MIN_SAMPLES`] successes over the last second. The pace is 90%
//! of what the server accepted over that second (or of the pace it refused, when that is less).
//! A 429 with fewer successes before it (at the start of an apply, say) is a burst: it costs its
//! `Retry-After` pause and the halved concurrency, which grows back within a round trip or two.
//!
//! The ceiling is the rate the server is known to refuse above: the pace it refused, or the
//! successes of the last second. When that second held a pause, it says only that the server
//! allowed at least that much, so such a ceiling is tentative and forgotten after
//! [`TENTATIVE_CEILING_MEMORY`] without a refusal. Each success raises the pace by 20% per
//! second (or one request per second when that is more) up to 95% of the ceiling, and above
//! that by only 0.2% per second, because every refusal costs a whole `Retry-After` pause. So a
//! steady limit is met at about 95% of its rate, a risen one is still found, slowly, and a pace
//! a burst set low climbs back within seconds. A pace that no longer binds — no refusal for [`PACE_RELEASE`]
//! and more than twice the rate actually reached — is dropped, and a ceiling is forgotten after
//! [`CEILING_MEMORY`] without a refusal, so an apply regains the whole throughput the server
//! allows once it stops refusing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Lowest limit the decrease goes to.
const MIN_LIMIT: f64 = 1.0;
/// Lowest pace (requests per second).
const MIN_PACE: f64 = 1.0;
/// Share of the observed rate (or of the refused pace) the pace is set to after a 429.
const PACE_SHARE: f64 = 0.9;
/// Least a success raises the pace by below 95% of the ceiling (or with none): at a pace `p`
/// the pace grows by `p · PACE_STEP` per second (20%), and by one request per second when that
/// is more.
const PACE_STEP: f64 = 0.2;
/// Share of the ceiling (the pace of the last refusal) above which the pace only creeps.
const CEILING_SHARE: f64 = 0.95;
/// How much a success raises the pace near the ceiling: 0.2% per second.
const CREEP_STEP: f64 = 0.002;
/// Window over which successes are counted to estimate the server's rate.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Fewest successes in `RATE_WINDOW` that say something about the server's rate.
pub const MIN_SAMPLES: usize = 20;
/// A pace is dropped when it has not been refused for this long and no longer binds.
pub const PACE_RELEASE: Duration = Duration::from_secs(10);
/// A ceiling is forgotten when it has not been refused for this long.
pub const CEILING_MEMORY: Duration = Duration::from_secs(30);
/// A ceiling taken from a second that held a pause (a lower bound of the server's rate) is
/// forgotten sooner.
pub const TENTATIVE_CEILING_MEMORY: Duration = Duration::from_secs(10);

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
    /// Requests per second, while refusals recur.
    pace: Option<f64>,
    /// The rate the server is known to refuse above.
    ceiling: Option<f64>,
    /// The ceiling is only a lower bound (see [`TENTATIVE_CEILING_MEMORY`]).
    tentative: bool,
    /// When the server last refused a request.
    refused_at: Option<Instant>,
    /// When the pause of the last refusal ended (or ends).
    paused_until: Option<Instant>,
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
                tentative: false,
                refused_at: None,
                paused_until: None,
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

impl State {
    /// Successes counted over the last [`RATE_WINDOW`].
    fn observed(&mut self, now: Instant) -> usize {
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > RATE_WINDOW)
        {
            self.recent.pop_front();
        }
        self.recent.len()
    }
}

impl Permit {
    /// The request succeeded (or failed for a reason that says nothing about load): grow the
    /// limit by `1 / limit`, up to the maximum, and the pace as the module says.
    pub fn succeeded(&self) {
        let mut state = self.limiter.lock();
        let max = state.max as f64;
        state.limit = (state.limit + 1.0 / state.limit.max(MIN_LIMIT)).min(max);
        let now = Instant::now();
        state.recent.push_back(now);
        let observed = state.observed(now) as f64;
        let quiet = state
            .refused_at
            .map_or(Duration::MAX, |at| now.duration_since(at));
        let memory = if state.tentative {
            TENTATIVE_CEILING_MEMORY
        } else {
            CEILING_MEMORY
        };
        if quiet >= memory {
            state.ceiling = None;
        }
        if let Some(pace) = state.pace
            && quiet >= PACE_RELEASE
            && pace > 2.0 * observed
        {
            state.pace = None;
            state.next_start = None;
        }
        let ceiling = state.ceiling;
        if let Some(pace) = state.pace.as_mut() {
            let near_ceiling = ceiling.is_some_and(|c| *pace >= c * CEILING_SHARE);
            *pace += if near_ceiling {
                CREEP_STEP
            } else {
                (1.0 / *pace).max(PACE_STEP)
            };
        }
    }

    /// The server refused the request as too many (429): halve the limit unless a request
    /// sent after this one's start already did, pace the requests as the module says, and
    /// pause every request for `retry_after`.
    pub fn throttled(&self, retry_after: Option<Duration>) {
        let mut state = self.limiter.lock();
        let now = Instant::now();
        if state.epoch == self.epoch {
            state.limit = (state.limit / 2.0).max(MIN_LIMIT);
            state.epoch += 1;
            let observed = state.observed(now);
            let evidence = (observed >= MIN_SAMPLES).then_some(observed as f64);
            // A second without a pause (or all of the client's life, when shorter: what the
            // server accepted so far in its window): what it accepted is its rate.
            let clean = state
                .paused_until
                .is_none_or(|end| end + RATE_WINDOW <= now);
            match (state.pace, evidence) {
                (Some(pace), _) => {
                    let allowed = evidence.map_or(pace, |rate| rate.min(pace));
                    state.ceiling = Some(if clean { allowed } else { pace });
                    state.tentative = false;
                    state.pace = Some((allowed * PACE_SHARE).max(MIN_PACE));
                }
                (None, Some(rate)) => {
                    state.pace = Some((rate * PACE_SHARE).max(MIN_PACE));
                    state.ceiling = Some(rate);
                    state.tentative = !clean;
                }
                (None, None) => {}
            }
            state.refused_at = Some(now);
        }
        let end = now + retry_after.unwrap_or_default();
        state.paused_until = Some(state.paused_until.map_or(end, |current| current.max(end)));
        if let Some(wait) = retry_after {
            let at = now + wait;
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

    fn pace(limiter: &Limiter) -> Option<f64> {
        limiter.lock().pace
    }

    /// `n` successes spread evenly over `over`, in the paused test clock.
    async fn successes(permit: &Permit, n: u32, over: Duration) {
        for _ in 0..n {
            permit.succeeded();
            tokio::time::advance(over / n).await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_single_burst_costs_its_pause_and_no_more() {
        let limiter = Limiter::new(10);
        let first = limiter.acquire().await;
        first.succeeded();
        drop(first);
        // Three requests of the first round refused with Retry-After: 2 (the repro).
        let round: Vec<Permit> =
            futures_util::future::join_all((0..10).map(|_| limiter.acquire())).await;
        for permit in &round[..3] {
            permit.throttled(Some(Duration::from_secs(2)));
        }
        for permit in &round[3..] {
            permit.succeeded();
        }
        drop(round);
        assert_eq!(pace(&limiter), None, "a burst sets no pace");
        let started = Instant::now();
        // 60 more requests, as many at once as the limiter lets through, each taking 20 ms.
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..60 {
            let limiter = limiter.clone();
            requests.spawn(async move {
                let permit = limiter.acquire().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                permit.succeeded();
            });
        }
        requests.join_all().await;
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(2300),
            "the pause and a few round trips, not a crawl: {took:?}"
        );
        assert_eq!(pace(&limiter), None);
        assert_eq!(limiter.limit(), 10, "the concurrency grew back");
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limit_is_paced_at_the_rate_it_accepted() {
        let limiter = Limiter::new(10);
        let permit = limiter.acquire().await;
        // 200 successes in 0.4 s, then a refusal: a server that accepts ~200 per second.
        successes(&permit, 200, Duration::from_millis(400)).await;
        permit.throttled(Some(Duration::from_secs(1)));
        let paced = pace(&limiter).expect("enough evidence: paced");
        assert!((paced - 180.0).abs() < 1e-9, "90% of the 200: {paced}");
        // All the server accepted in its window so far: the ceiling.
        assert_eq!(limiter.lock().ceiling, Some(200.0));
        assert!(!limiter.lock().tentative);
        drop(permit);
        tokio::time::advance(Duration::from_millis(1100)).await;
        // A whole clean second later, refused again after 190 successes: that is the rate.
        let permit = limiter.acquire().await;
        successes(&permit, 190, Duration::from_millis(950)).await;
        tokio::time::advance(Duration::from_millis(20)).await;
        permit.throttled(Some(Duration::from_secs(1)));
        assert_eq!(limiter.lock().ceiling, Some(190.0));
        assert!(!limiter.lock().tentative);
        assert!((pace(&limiter).unwrap() - 171.0).abs() < 1e-9);
    }

    #[tokio::test(start_paused = true)]
    async fn a_tentative_ceiling_is_forgotten_sooner_than_a_firm_one() {
        let limiter = Limiter::new(10);
        let permit = limiter.acquire().await;
        successes(&permit, 50, Duration::from_millis(500)).await;
        permit.throttled(Some(Duration::from_millis(200)));
        drop(permit);
        tokio::time::advance(Duration::from_millis(200)).await;
        // Refused again 0.3 s after the pause: that second held the pause.
        let permit = limiter.acquire().await;
        successes(&permit, 30, Duration::from_millis(300)).await;
        limiter.lock().pace = None;
        permit.throttled(None);
        assert!(limiter.lock().tentative);
        tokio::time::advance(TENTATIVE_CEILING_MEMORY).await;
        permit.succeeded();
        assert_eq!(
            limiter.lock().ceiling,
            None,
            "forgotten: the pace may probe again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pace_set_low_by_a_second_burst_climbs_back_within_seconds() {
        let limiter = Limiter::new(10);
        let permit = limiter.acquire().await;
        // A second of 100 successes, a burst with a 2 s pause, 30 successes, another burst:
        // the second refusal's second holds the pause, so its 30 say little.
        successes(&permit, 100, Duration::from_secs(1)).await;
        permit.throttled(Some(Duration::from_secs(2)));
        drop(permit);
        tokio::time::advance(Duration::from_secs(2)).await;
        let permit = limiter.acquire().await;
        successes(&permit, 30, Duration::from_millis(300)).await;
        permit.throttled(Some(Duration::from_secs(1)));
        drop(permit);
        let low = pace(&limiter).unwrap();
        assert!(low < 80.0, "{low}");
        tokio::time::advance(Duration::from_secs(1)).await;
        // The ceiling is the pace that was refused, not the 30: within ten seconds without a
        // refusal the pace is back near it.
        assert!(limiter.lock().ceiling.unwrap() > 90.0);
        let permit = limiter.acquire().await;
        successes(&permit, 1000, Duration::from_secs(10)).await;
        let back = pace(&limiter);
        assert!(back.is_none_or(|p| p >= 90.0), "{low} -> {back:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_while_paced_sets_the_ceiling_and_the_pace_then_creeps_below_it() {
        let limiter = Limiter::new(10);
        let permit = limiter.acquire().await;
        limiter.lock().pace = Some(100.0);
        permit.throttled(None);
        assert_eq!(limiter.lock().ceiling, Some(100.0));
        assert!((pace(&limiter).unwrap() - 90.0).abs() < 1e-9);
        drop(permit);
        // Ten seconds at about that pace: it climbs fast to 95 of the 100, then only creeps.
        let permit = limiter.acquire().await;
        successes(&permit, 950, Duration::from_secs(10)).await;
        let after = pace(&limiter).unwrap();
        assert!(after >= 95.0, "climbed back near the ceiling: {after}");
        assert!(after < 97.5, "but stays under the refused pace: {after}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pace_that_no_longer_binds_is_dropped() {
        let limiter = Limiter::new(10);
        let permit = limiter.acquire().await;
        successes(&permit, 50, Duration::from_millis(500)).await;
        permit.throttled(None);
        drop(permit);
        tokio::time::advance(Duration::from_millis(100)).await;
        let permit = limiter.acquire().await;
        successes(&permit, 50, Duration::from_millis(500)).await;
        permit.throttled(None);
        let set = pace(&limiter).expect("paced");
        // Without refusals the pace climbs by a fifth per second...
        successes(&permit, 20, Duration::from_secs(1)).await;
        let climbed = pace(&limiter).unwrap();
        assert!(climbed > set, "{set} -> {climbed}");
        // ...and once it has not been refused for a while and binds nothing, it is gone.
        tokio::time::advance(PACE_RELEASE).await;
        permit.succeeded();
        assert_eq!(pace(&limiter), None);
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
