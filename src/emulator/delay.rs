//! Exact waits for injected latency. tokio's timer wheel counts whole milliseconds and its
//! worker parks with a millisecond timeout: measured on the benchmark's 2-core VM (2 workers,
//! ten concurrent 20 ms waits, 300 of them), `tokio::time::sleep_until` woke 1.2 ms late on
//! average (at most 1.4), this thread 0.2 ms (at most 0.4) — a plan's ~22 rounds in a row
//! would pay some 22 ms more with tokio's timer (docs/scale.md). A latency fault is a
//! measuring instrument (the bench divides by it), so it is kept to the configured time by a
//! timer thread that sleeps until the earliest deadline on a condition variable (a futex wait,
//! precise to tens of microseconds) and wakes its waiters.
//!
//! The thread belongs to its [`Timer`] (one per emulator, in `faults::Faults`): it starts at
//! the first wait, and dropping the timer stops it and joins it, so a stopped emulator leaves
//! no thread behind.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

/// One emulator's timer thread (started at the first wait) and what it waits for.
#[derive(Default)]
pub struct Timer {
    shared: Arc<Shared>,
    thread: OnceLock<JoinHandle<()>>,
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timer").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    changed: Condvar,
}

#[derive(Default)]
struct Pending {
    waiters: BinaryHeap<Reverse<Waiter>>,
    sequence: u64,
    /// Set when the timer is dropped: the thread wakes everyone and ends.
    stop: bool,
}

/// One pending wait: ordered by deadline, then by arrival.
struct Waiter {
    deadline: Instant,
    sequence: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.sequence) == (other.deadline, other.sequence)
    }
}

impl Eq for Waiter {}

impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.deadline, self.sequence).cmp(&(other.deadline, other.sequence))
    }
}

impl Timer {
    /// Waits until `deadline` (returns at once when it has passed).
    pub async fn until(&self, deadline: Instant) {
        if deadline <= Instant::now() {
            return;
        }
        let (wake, woken) = oneshot::channel();
        self.add(deadline, wake);
        // The thread never drops a waiter before its deadline unless the timer is dropped
        // (the emulator stops); either way the wait is over.
        let _ = woken.await;
    }

    fn add(&self, deadline: Instant, wake: oneshot::Sender<()>) {
        self.thread.get_or_init(|| {
            let shared = Arc::clone(&self.shared);
            std::thread::Builder::new()
                .name("emulator-timer".into())
                .spawn(move || shared.run())
                .expect("the emulator can start its timer thread")
        });
        let mut pending = self.shared.lock();
        pending.sequence += 1;
        let sequence = pending.sequence;
        let earliest = pending
            .waiters
            .peek()
            .is_none_or(|Reverse(first)| deadline < first.deadline);
        pending.waiters.push(Reverse(Waiter {
            deadline,
            sequence,
            wake,
        }));
        drop(pending);
        if earliest {
            self.shared.changed.notify_one();
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A waiter list is consistent after any panic (push and pop are whole operations).
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self) {
        let mut pending = self.lock();
        loop {
            if pending.stop {
                // Dropping the senders ends every wait.
                pending.waiters.clear();
                return;
            }
            let now = Instant::now();
            while pending
                .waiters
                .peek()
                .is_some_and(|Reverse(first)| first.deadline <= now)
            {
                if let Some(Reverse(due)) = pending.waiters.pop() {
                    // The request may have been cancelled (client gone): nobody to wake.
                    let _ = due.wake.send(());
                }
            }
            pending = match pending.waiters.peek() {
                None => self
                    .changed
                    .wait(pending)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(Reverse(first)) => {
                    let wait = first.deadline.saturating_duration_since(now);
                    match self.changed.wait_timeout(pending, wait) {
                        Ok((guard, _)) => guard,
                        Err(poisoned) => poisoned.into_inner().0,
                    }
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn waits_are_exact_and_woken_in_deadline_order() {
        let timer = Arc::new(Timer::default());
        let start = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let waits = [30u64, 10, 20].map(|ms| {
            let (order, timer) = (Arc::clone(&order), Arc::clone(&timer));
            tokio::spawn(async move {
                timer.until(start + Duration::from_millis(ms)).await;
                let late = start.elapsed().saturating_sub(Duration::from_millis(ms));
                order.lock().unwrap().push(ms);
                late
            })
        });
        for wait in waits {
            let late = wait.await.unwrap();
            // Generous for a loaded CI machine; tokio's own timer is typically 1 ms late.
            assert!(late < Duration::from_millis(15), "woke {late:?} late");
        }
        assert_eq!(*order.lock().unwrap(), vec![10, 20, 30]);
        assert!(start.elapsed() >= Duration::from_millis(30));
    }

    #[tokio::test]
    async fn a_past_deadline_does_not_wait_and_starts_no_thread() {
        let timer = Timer::default();
        let start = Instant::now();
        timer
            .until(start.checked_sub(Duration::from_millis(5)).unwrap_or(start))
            .await;
        timer.until(start).await;
        assert!(start.elapsed() < Duration::from_millis(5));
        assert!(timer.thread.get().is_none());
    }

    #[tokio::test]
    async fn dropping_the_timer_ends_its_waits_and_its_thread() {
        let timer = Timer::default();
        let (wake, woken) = oneshot::channel::<()>();
        timer.add(Instant::now() + Duration::from_secs(3600), wake);
        let thread = timer.thread.get().expect("started at the first wait");
        assert!(!thread.is_finished());
        // Dropping joins the thread: this returns only once it has ended.
        drop(timer);
        assert!(
            woken.await.is_err(),
            "a pending wait ends when its timer goes"
        );
    }
}
