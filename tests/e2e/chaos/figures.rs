//! The campaign's counts, printed at the end.

use super::*;

/// The campaign's counts.
#[derive(Debug, Default)]
pub(super) struct Figures {
    pub(super) steps: usize,
    pub(super) changes: usize,
    pub(super) faults: BTreeMap<&'static str, usize>,
    pub(super) kcform_runs: usize,
    pub(super) kcform_kills: usize,
    /// kcform had finished before the moment drawn for its kill.
    pub(super) kcform_kills_too_late: usize,
    pub(super) emulator_kills: usize,
    /// Emulator kills that struck while kcform was still running.
    pub(super) emulator_kills_mid_apply: usize,
    /// How the disturbed applies ended.
    pub(super) applies: BTreeMap<&'static str, usize>,
    /// Live keys without their secret in the sink after a disturbed apply (each one replaced
    /// or deleted by the next plan, or invariant 1 failed).
    pub(super) keys_without_secret: usize,
    /// Keys with two generations after a disturbed apply (an interrupted replacement).
    pub(super) keys_with_two_generations: usize,
    /// Invariant checks by invariant.
    pub(super) checks: BTreeMap<&'static str, usize>,
}

impl Figures {
    pub(super) fn check(&mut self, invariant: &'static str) {
        *self.checks.entry(invariant).or_default() += 1;
    }

    pub(super) fn summary(&self, seed: u64, elapsed: Duration) -> String {
        let list = |map: &BTreeMap<&str, usize>| {
            map.iter()
                .map(|(name, n)| format!("{n} {name}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let faults: usize = self.faults.values().sum();
        let checks: usize = self.checks.values().sum();
        format!(
            "chaos campaign: seed {seed}: {} steps in {:.1} s, {} configuration changes, {faults} faults injected ({}), {} kcform runs, {} kcform kills ({} more came too late), {} emulator kills ({} during an apply), disturbed applies: {}; {} keys left without a secret and {} with two generations, all handled by the next plan; {checks} invariant checks ({})",
            self.steps,
            elapsed.as_secs_f64(),
            self.changes,
            list(&self.faults),
            self.kcform_runs,
            self.kcform_kills,
            self.kcform_kills_too_late,
            self.emulator_kills,
            self.emulator_kills_mid_apply,
            list(&self.applies),
            self.keys_without_secret,
            self.keys_with_two_generations,
            list(&self.checks),
        )
    }
}
