//! The writer's side of resumable reports: which entries are completely written, the
//! path chain up to them, and a checkpoint ([`crate::resume`]) when one is due. A
//! checkpoint is only ever taken between entries, so that a continued scan never
//! keeps part of an entry's records (an archive's members, written as they come).

use std::collections::VecDeque;
use std::io::{self, Write};

use super::account::Tally;
use crate::report::ReportWriter;
use crate::resume::{Checkpointer, State};

pub(super) struct Marks {
    cp: Option<Checkpointer>,
    /// The chain after each entry discovered and not yet written, in order.
    chains: VecDeque<[u8; 32]>,
    /// The chain after the last entry written.
    chain: [u8; 32],
    /// Entries written, every record of each.
    done: u64,
}

impl Marks {
    /// `cp`: the checkpointer when the report is checkpointed; `done` entries with path
    /// chain `chain` are already in the report.
    pub(super) fn new(cp: Option<Checkpointer>, done: u64, chain: [u8; 32]) -> Self {
        Marks {
            cp,
            chains: VecDeque::new(),
            chain,
            done,
        }
    }

    /// Whether discovery is to send the path chains (only checkpoints use them).
    pub(super) fn wants_chains(&self) -> bool {
        self.cp.is_some()
    }

    /// Chains for entries discovery is handing on.
    pub(super) fn discovered(&mut self, chains: Vec<[u8; 32]>) {
        self.chains.extend(chains);
    }

    /// Every record of the next entry is written: take a checkpoint if one is due.
    pub(super) fn entry_done<W: Write>(
        &mut self,
        tally: &Tally<'_>,
        writer: &mut ReportWriter<W>,
    ) -> io::Result<()> {
        self.done += 1;
        let Some(cp) = &self.cp else {
            return Ok(());
        };
        self.chain = self
            .chains
            .pop_front()
            .expect("discovery sends an entry's chain before the entry");
        if cp.due() {
            self.save(tally, writer)?;
        }
        Ok(())
    }

    /// Takes a checkpoint now (at the end of an entry: the caller makes sure).
    pub(super) fn save<W: Write>(
        &mut self,
        tally: &Tally<'_>,
        writer: &mut ReportWriter<W>,
    ) -> io::Result<()> {
        let Some(cp) = &mut self.cp else {
            return Ok(());
        };
        writer.flush()?;
        let (summary, hash_seq) = tally.so_far();
        cp.save(&State {
            entries: self.done,
            chain: &self.chain,
            summary,
            hash_seq,
        })
    }

    /// Seconds of scanning over every run (of this one only without checkpoints), and
    /// how many runs came before.
    pub(super) fn elapsed_and_resumed(&self, this_run: f64) -> (f64, u64) {
        match &self.cp {
            Some(cp) => (cp.elapsed(), cp.resumed()),
            None => (this_run, 0),
        }
    }

    /// The report is complete: drop the checkpoint.
    pub(super) fn complete(self) -> io::Result<()> {
        match self.cp {
            Some(cp) => cp.complete(),
            None => Ok(()),
        }
    }
}
