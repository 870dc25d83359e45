//! A terminal progress bar for conversions; silent when stderr is not a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use lithos_engine::{Progress, Stage};

const STEPS: u64 = 1000;

#[derive(Debug)]
pub struct Bar(Option<ProgressBar>);

impl Bar {
    pub fn new(wanted: bool) -> Self {
        if !wanted || !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new(STEPS);
        bar.set_style(
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {percent:>3}% {elapsed}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        Self(Some(bar))
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A prompt's generation, as its own stage.
impl lithos_server::generation::Watcher for Bar {
    fn progress(&self, fraction: f64) {
        self.advance(fraction);
    }

    fn stopped(&self) -> Option<lithos_server::generation::Failure> {
        None
    }
}

impl Progress for Bar {
    fn stage(&self, stage: Stage) {
        if let Some(bar) = &self.0 {
            bar.set_message(stage.name());
            bar.set_position(0);
        }
    }

    fn advance(&self, fraction: f64) {
        if let Some(bar) = &self.0 {
            bar.set_position((fraction * STEPS as f64) as u64);
        }
    }
}
