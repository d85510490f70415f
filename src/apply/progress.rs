//! Apply progress on stderr: on a terminal, a live bar (indicatif) counting finished
//! operations with each finished operation's line printed above it; otherwise (CI logs,
//! pipes) just one plain line per finished operation.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress of one apply.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Progress over `total` operations; live only when stderr is a terminal.
    pub fn new(total: usize) -> Progress {
        Self::with_terminal(total, std::io::stderr().is_terminal())
    }

    /// Same, saying whether stderr is a terminal.
    pub fn with_terminal(total: usize, terminal: bool) -> Progress {
        if !terminal || total == 0 {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} Applying [{bar:30}] {pos}/{len} operations ({elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar: Some(bar) }
    }

    /// Whether the live bar is shown.
    pub fn is_live(&self) -> bool {
        self.bar.is_some()
    }

    /// One operation finished; `lines` describe it (may be empty for one not started).
    pub fn finished(&mut self, lines: &[String]) {
        match &self.bar {
            Some(bar) => {
                for line in lines {
                    bar.println(line);
                }
                bar.inc(1);
            }
            None => {
                for line in lines {
                    eprintln!("{line}");
                }
            }
        }
    }

    /// Removes the bar (before the final report).
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_bar_off_a_terminal_or_for_an_empty_plan() {
        assert!(!Progress::with_terminal(5, false).is_live());
        assert!(!Progress::with_terminal(0, true).is_live());
        let mut live = Progress::with_terminal(2, true);
        assert!(live.is_live());
        live.finished(&["a".to_string()]);
        live.finish();
    }
}
