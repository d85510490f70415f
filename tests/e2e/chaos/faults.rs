//! Random faults, and the moments and disturbances (kills, restarts) a step may bring.

use super::*;

/// Zero to three random fault rules, each with the name it is counted under.
pub(super) fn random_faults(rng: &mut StdRng) -> Vec<(&'static str, Value)> {
    (0..rng.random_range(0..=3))
        .map(|_| random_fault(rng))
        .collect()
}

pub(super) fn random_fault(rng: &mut StdRng) -> (&'static str, Value) {
    pub(super) fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
        items[rng.random_range(0..items.len())]
    }
    match rng.random_range(0..8) {
        0 => (
            "lost key create",
            json!({"method": "POST", "path": "*/application_credentials", "lose_response": true,
                   "count": rng.random_range(1..=2), "after": rng.random_range(0..=2)}),
        ),
        1 => (
            "lost account create",
            json!({"method": "POST", "path": "*/service_accounts", "lose_response": true,
                   "count": 1, "after": rng.random_range(0..=1)}),
        ),
        2 => (
            "lost delete or status change",
            json!({"method": pick(rng, &["DELETE", "PATCH"]), "lose_response": true,
                   "count": rng.random_range(1..=2)}),
        ),
        3 => (
            "429 burst",
            json!({"method": pick(rng, &["*", "GET", "POST", "DELETE"]), "status": 429,
                   "retry_after": 1, "count": rng.random_range(1..=3)}),
        ),
        4 => (
            "500/503",
            json!({"path": pick(rng, &["/identity/v3/*", "*/application_credentials*", "*/service_accounts*"]),
                   "status": pick(rng, &[500, 503]), "count": rng.random_range(1..=6),
                   "after": rng.random_range(0..=3)}),
        ),
        5 => (
            "dropped connections",
            json!({"method": pick(rng, &["*", "GET", "POST", "DELETE", "PATCH"]),
                   "drop_connection": true, "count": rng.random_range(1..=3),
                   "after": rng.random_range(0..=3)}),
        ),
        6 => (
            "list lag",
            json!({"method": "POST", "list_lag_ms": rng.random_range(200..=1500)}),
        ),
        _ => (
            "latency",
            json!({"latency_ms": rng.random_range(5..=60), "jitter_ms": rng.random_range(0..=30)}),
        ),
    }
}

/// When a disturbance strikes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Moment {
    /// This long after kcform started (anywhere: reading, planning, applying, recording).
    AfterStart { ms: u64 },
    /// This long after the plan was printed (`operations` 0) or after that many operations
    /// finished: while keys are created and their secrets delivered.
    AfterOperations { operations: usize, ms: u64 },
}

impl Moment {
    pub(super) fn random(rng: &mut StdRng) -> Moment {
        if rng.random_bool(0.3) {
            Moment::AfterStart {
                ms: rng.random_range(0..=KILL_WINDOW_MS),
            }
        } else {
            Moment::AfterOperations {
                operations: rng.random_range(0..=3),
                ms: rng.random_range(0..=OPERATION_KILL_WINDOW_MS),
            }
        }
    }

    /// Waits for it; false if kcform ended first.
    pub(super) fn wait(self, running: &mut RunningKcform) -> bool {
        let (lines, ms): (usize, u64) = match self {
            Moment::AfterStart { ms } => (0, ms),
            Moment::AfterOperations { operations, ms } => (operations + 1, ms),
        };
        // The plan's summary line (stdout), then one line per finished operation (stderr).
        let progress = |line: &str| {
            line.starts_with("Plan: ")
                || ["project.", "service_account.", "access_key."]
                    .iter()
                    .any(|prefix| line.starts_with(prefix))
                    && (line.contains(" complete") || line.contains(" failed: "))
        };
        if !running.wait_for_lines(lines, progress, RUN_LIMIT) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(ms));
        running.is_running()
    }
}

/// What happens to a step's apply while it runs.
#[derive(Debug, Clone, Copy)]
pub(super) enum Disturbance {
    None,
    /// kcform is killed with SIGKILL.
    KillKcform(Moment),
    /// The emulator is killed with SIGKILL, and started again on its data file `down_ms`
    /// later.
    KillEmulator {
        at: Moment,
        down_ms: u64,
    },
}

impl Disturbance {
    pub(super) fn random(rng: &mut StdRng) -> Disturbance {
        match rng.random_range(0..10) {
            0..4 => Disturbance::None,
            4..7 => Disturbance::KillKcform(Moment::random(rng)),
            _ => Disturbance::KillEmulator {
                at: Moment::random(rng),
                down_ms: rng.random_range(0..=MAX_DOWNTIME_MS),
            },
        }
    }
}
