//! Exact waits for injected latency. tokio's timer wheel counts whole milliseconds and its
//! worker parks with a millisecond timeout, so a 20 ms latency fault cost each request 21–22 ms.
//! A latency fault is a measuring instrument (the scale bench divides by it), so it is kept to
//! the configured time by one timer thread that sleeps until the earliest deadline on a
//! condition variable (a futex wait, precise to tens of microseconds) and wakes its waiters.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Instant;

use tokio::sync::oneshot;

/// Waits until `deadline` (returns at once when it has passed).
pub async fn until(deadline: Instant) {
    if deadline <= Instant::now() {
        return;
    }
    let (wake, woken) = oneshot::channel();
    timer().add(deadline, wake);
    // The timer thread never drops a waiter before its deadline, so an error cannot happen
    // early; either way the wait is over.
    let _ = woken.await;
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

#[derive(Default)]
struct Pending {
    waiters: BinaryHeap<Reverse<Waiter>>,
    sequence: u64,
}

/// The process's timer thread and what it waits for.
struct Timer {
    pending: Mutex<Pending>,
    changed: Condvar,
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<&'static Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let timer: &'static Timer = Box::leak(Box::new(Timer {
            pending: Mutex::new(Pending::default()),
            changed: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("emulator-timer".into())
            .spawn(move || timer.run())
            .expect("the emulator can start its timer thread");
        timer
    })
}

impl Timer {
    fn add(&self, deadline: Instant, wake: oneshot::Sender<()>) {
        let mut pending = self.lock();
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
            self.changed.notify_one();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A waiter list is consistent after any panic (push and pop are whole operations).
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self) {
        let mut pending = self.lock();
        loop {
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
        let start = Instant::now();
        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let waits = [30u64, 10, 20].map(|ms| {
            let order = std::sync::Arc::clone(&order);
            tokio::spawn(async move {
                until(start + Duration::from_millis(ms)).await;
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
    async fn a_past_deadline_does_not_wait() {
        let start = Instant::now();
        until(start.checked_sub(Duration::from_millis(5)).unwrap_or(start)).await;
        until(start).await;
        assert!(start.elapsed() < Duration::from_millis(5));
    }
}
