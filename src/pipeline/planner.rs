//! Planning the live projects as they arrive, on a thread of its own: each project is marked
//! for undelivered keys, diffed ([`Incremental`]) and — when the caller will print the human
//! plan — its human blocks rendered as soon as it is read, while the others are still on the
//! wire, so little is left to do once the last listing arrives. With thousands of changes the
//! blocks are a good part of a plan's time.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::apply::sink::Sink;
use crate::cloud::Arrival;
use crate::plan::Change;
use crate::plan::incremental::Incremental;
use crate::render::{Palette, human};
use crate::state::pending::{self, PendingKeys};

/// The planning thread.
pub(super) struct Planner {
    arrive: mpsc::Sender<Arrival>,
    worker: JoinHandle<(Incremental, Option<Blocks>)>,
}

/// The human blocks rendered so far, by project, and their palette.
pub(super) struct Blocks {
    by_project: BTreeMap<String, String>,
    palette: Palette,
}

impl Blocks {
    /// The blocks of `changes` (the plan's, in plan order): those rendered as the projects
    /// arrived, and those of the projects not among them rendered now.
    pub(super) fn join(self, changes: &[Change]) -> String {
        human::join_project_blocks(changes, self.by_project, &self.palette)
    }
}

impl Planner {
    /// Starts planning with `planner`; `pending` and `sink` mark the keys whose secrets were not
    /// delivered; `human` is the palette to render the blocks in, if the caller wants them.
    pub(super) fn start(
        mut planner: Incremental,
        pending: PendingKeys,
        sink: Sink,
        human: Option<Palette>,
    ) -> Planner {
        let (arrive, arrivals) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            let mut by_project = BTreeMap::new();
            for arrival in arrivals {
                match arrival {
                    Arrival::Undeclared(projects) => planner.undeclared(projects),
                    Arrival::Project(mut project) => {
                        pending::mark_undelivered(&pending, &mut project, &sink);
                        let name = project.name.clone();
                        let changes = planner.project(project);
                        if let Some(palette) = human.as_ref().filter(|_| !changes.is_empty()) {
                            by_project.insert(name, human::change_blocks(changes, palette));
                        }
                    }
                }
            }
            let blocks = human.map(|palette| Blocks {
                by_project,
                palette,
            });
            (planner, blocks)
        });
        Planner { arrive, worker }
    }

    /// Hands it a project (or the undeclared ones) as it arrives.
    pub(super) fn arrive(&self, arrival: Arrival) {
        // The worker only stops when this sender is dropped, so it is there to receive.
        let _ = self.arrive.send(arrival);
    }

    /// Waits for the projects handed over so far to be planned; the plan is put together with
    /// [`Incremental::finish`].
    pub(super) fn join(self) -> (Incremental, Option<Blocks>) {
        drop(self.arrive);
        self.worker
            .join()
            .expect("planning a project does not panic")
    }
}
