//! Group commit: the bookkeeping that lets concurrent requests share one journal fsync.
//!
//! A change is applied in memory under the state lock and its journal line is queued with a
//! sequence number ([`Durability::push`]). No answer leaves the emulator before every line
//! queued by then is on disk: the commit gate (`state::EmulatorState::commit`, run as a
//! middleware around every route) waits for its sequence number to be *settled*. The first
//! waiter that finds no write in progress becomes the flusher: it takes every queued line
//! (its own and those of requests that arrived meanwhile) and writes them with one fsync,
//! while later lines queue up for the next batch. So ten concurrent writers cost about one
//! fsync each round, not ten.
//!
//! If a write fails, every queued change (the failed batch and anything queued after it,
//! which may build on it) is undone in memory, newest first, and the requests that could have
//! seen them answer 500: a failed save changes nothing. The journal is then rebuilt by a
//! compaction before the next line.

use std::collections::VecDeque;

use super::journal::{Change, Journal};
use super::store::Data;

/// How many failed ranges are remembered for waiters that have not looked yet.
const FAILURES_KEPT: usize = 256;

/// The persistence side of the emulator's state (absent for an in-memory emulator).
#[derive(Debug)]
pub struct Durability {
    /// The journal; `None` while a flusher has it out for an append.
    pub journal: Option<Journal>,
    /// Lines queued for the next batch.
    pending: Vec<u8>,
    /// Changes not yet settled, oldest first, with their sequence numbers.
    undo: VecDeque<(u64, Change)>,
    /// Sequence number of the last queued change.
    appended: u64,
    /// Every change up to this number is on disk or has failed.
    settled: u64,
    /// Whether a flusher is writing.
    flushing: bool,
    /// Ranges of failed changes (first, last) and why.
    failed: VecDeque<(u64, u64, String)>,
}

/// What a waiter should do next.
#[derive(Debug)]
pub enum Step {
    /// Everything it waits for is on disk.
    Done,
    /// Something it may have seen failed to save: answer 500 with this message.
    Failed(String),
    /// Another request is writing: wait for it.
    Wait,
    /// Write these lines (up to this sequence number) with this journal, then report.
    Append(Journal, Vec<u8>, u64),
    /// Compact now, under the state lock (after a failure, or when the journal is large).
    Compact,
}

impl Durability {
    /// Persistence through `journal` (already compacted: the data file holds everything).
    pub fn new(journal: Journal) -> Durability {
        Durability {
            journal: Some(journal),
            pending: Vec::new(),
            undo: VecDeque::new(),
            appended: 0,
            settled: 0,
            flushing: false,
            failed: VecDeque::new(),
        }
    }

    /// Queues a committed change's journal line; returns its sequence number.
    pub fn push(&mut self, line: &[u8], change: Change) -> u64 {
        self.appended += 1;
        self.pending.extend_from_slice(line);
        self.undo.push_back((self.appended, change));
        self.appended
    }

    /// The last queued sequence number.
    pub fn appended(&self) -> u64 {
        self.appended
    }

    /// Everything up to this number is settled.
    pub fn settled(&self) -> u64 {
        self.settled
    }

    /// The next step of a request that may have seen changes `(from, upto]`.
    pub fn step(&mut self, from: u64, upto: u64) -> Step {
        if let Some((_, _, why)) = self
            .failed
            .iter()
            .find(|(first, last, _)| *first <= upto && *last > from)
        {
            return Step::Failed(why.clone());
        }
        if self.settled >= upto {
            return Step::Done;
        }
        if self.flushing {
            return Step::Wait;
        }
        let Some(journal) = self.journal.take() else {
            return Step::Wait;
        };
        if journal.needs_compaction() {
            self.journal = Some(journal);
            return Step::Compact;
        }
        self.flushing = true;
        Step::Append(journal, std::mem::take(&mut self.pending), self.appended)
    }

    /// A flusher reports its append of the lines up to `upto`. On failure every unsettled
    /// change is undone in `data`.
    pub fn appended_batch(
        &mut self,
        journal: Journal,
        upto: u64,
        result: Result<(), String>,
        data: &mut Data,
    ) {
        let mut journal = journal;
        if result.is_err() {
            journal.invalidate();
        }
        self.journal = Some(journal);
        self.flushing = false;
        match result {
            Ok(()) => {
                self.settled = upto;
                while self.undo.front().is_some_and(|(seq, _)| *seq <= upto) {
                    self.undo.pop_front();
                }
            }
            Err(why) => self.fail_all(why, data),
        }
    }

    /// Compacts `data` (every queued change included) into the data file.
    pub fn compact(&mut self, data: &mut Data) {
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        match journal.compact(data) {
            Ok(()) => {
                self.pending.clear();
                self.undo.clear();
                self.settled = self.appended;
            }
            Err(error) => self.fail_all(error.to_string(), data),
        }
    }

    /// Whether a compaction would write anything new.
    pub fn is_dirty(&self) -> bool {
        self.journal.as_ref().is_some_and(Journal::is_dirty) || self.settled < self.appended
    }

    fn fail_all(&mut self, why: String, data: &mut Data) {
        if self.settled < self.appended {
            self.failed
                .push_back((self.settled + 1, self.appended, why));
            if self.failed.len() > FAILURES_KEPT {
                self.failed.pop_front();
            }
        }
        while let Some((_, change)) = self.undo.pop_back() {
            change.undo(data);
        }
        self.pending.clear();
        self.settled = self.appended;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::store::{FILE_VERSION, Project};

    fn data() -> Data {
        serde_json::from_value(serde_json::json!({
            "version": FILE_VERSION,
            "organization": {"id": "o", "name": "org", "payment_method": true},
            "bootstrap": {"admin_user_id": "a", "key_id": null},
            "users": {"a": {"id": "a", "name": "admin", "created_at": "t",
                "kind": {"type": "person", "org_role": "org-admin"}}}
        }))
        .expect("data")
    }

    /// Adds project `id` as one committed change and queues its line.
    fn create(durability: &mut Durability, data: &mut Data, id: &str) -> u64 {
        let (organization, bootstrap) = (data.organization.clone(), data.bootstrap.clone());
        let project = Project {
            id: id.into(),
            name: format!("p-{id}"),
            nickname: "n".into(),
            description: String::new(),
            created_at: "t".into(),
        };
        data.projects.insert(id.into(), project);
        let change = Change::take(data, organization, bootstrap);
        let line = change.record(data).line().expect("line");
        durability.push(&line, change)
    }

    #[test]
    fn concurrent_changes_share_one_write_and_a_failure_undoes_them_all() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut data = data();
        let mut journal = Journal::new(dir.path().join("emulator.json"));
        journal.compact(&data).expect("compact");
        let mut durability = Durability::new(journal);

        // Three requests commit while nobody writes: the first to wait writes all three lines.
        let seqs: Vec<u64> = ["1", "2", "3"]
            .iter()
            .map(|id| create(&mut durability, &mut data, id))
            .collect();
        let Step::Append(journal, lines, upto) = durability.step(0, seqs[0]) else {
            panic!("the first waiter writes");
        };
        assert_eq!(upto, 3);
        assert_eq!(lines.iter().filter(|b| **b == b'\n').count(), 3);
        // While it writes, the others wait, and a fourth change queues for the next batch.
        assert!(matches!(durability.step(0, seqs[2]), Step::Wait));
        let fourth = create(&mut durability, &mut data, "4");
        let mut journal = journal;
        journal.append(&lines).expect("append");
        durability.appended_batch(journal, upto, Ok(()), &mut data);
        assert!(matches!(durability.step(0, seqs[2]), Step::Done));

        // The fourth change's write fails: it is undone, and whoever saw it gets the error.
        let Step::Append(journal, _, upto) = durability.step(3, fourth) else {
            panic!("the next batch");
        };
        durability.appended_batch(journal, upto, Err("disk full".into()), &mut data);
        assert!(
            !data.projects.contains_key("4"),
            "the failed change is undone"
        );
        assert_eq!(data.projects.len(), 3);
        assert!(matches!(durability.step(3, fourth), Step::Failed(why) if why == "disk full"));
        assert!(
            matches!(durability.step(0, 3), Step::Done),
            "earlier changes stay"
        );
        // The journal is rebuilt by a compaction before the next line.
        let fifth = create(&mut durability, &mut data, "5");
        assert!(matches!(durability.step(4, fifth), Step::Compact));
    }
}
