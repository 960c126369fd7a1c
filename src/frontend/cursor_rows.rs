//! A cursor's rows: the batches held in memory and the statement still
//! sending more from the worker, read only as far as FETCH needs.

use std::collections::VecDeque;

use pgwire::error::PgWireResult;

use crate::bridge::marshal::Reader;
use crate::bridge::protocol::BackendError;
use crate::bridge::{BridgeError, Frame, Worker};
use crate::frontend::errors::INTERNAL_ERROR;
use crate::frontend::errors::{backend_error, bridge_failure, error};

/// One batch of rows as the worker sent it (a marshal list of tuples).
pub(crate) struct Batch {
    pub bytes: Vec<u8>,
    pub rows: usize,
}

/// Where the rows not yet held come from.
pub(crate) enum Source {
    /// The statement still runs on the worker with this pid.
    Worker(u32),
    Done,
    /// The statement failed after some rows: FETCH reaching the end of
    /// what is held reports this.
    Failed(BackendError),
}

/// A cursor's rows: those held in memory and the statement still sending more.
pub(crate) struct Rows {
    pub batches: VecDeque<Batch>,
    /// Zero-based index of the first row held.
    pub first: usize,
    pub held: usize,
    pub source: Source,
}

impl Rows {
    /// Rows still to come from the statement running on `worker_pid`
    /// (`None`: it has completed).
    pub fn new(worker_pid: Option<u32>) -> Rows {
        Rows {
            batches: VecDeque::new(),
            first: 0,
            held: 0,
            source: match worker_pid {
                Some(pid) => Source::Worker(pid),
                None => Source::Done,
            },
        }
    }

    pub fn total(&self) -> Option<usize> {
        matches!(self.source, Source::Done).then_some(self.first + self.held)
    }

    pub fn push(&mut self, bytes: Vec<u8>) -> Result<(), BridgeError> {
        let rows = Reader::new(&bytes).container()?;
        self.held += rows;
        self.batches.push_back(Batch { bytes, rows });
        Ok(())
    }

    /// Reads the worker's next frame into the rows held.
    pub async fn pull(&mut self, worker: Option<&mut Worker>) -> PgWireResult<()> {
        let Source::Worker(pid) = self.source else {
            return Ok(());
        };
        let Some(w) = worker.filter(|w| w.pid() == pid) else {
            self.source = Source::Done;
            return Err(error(
                INTERNAL_ERROR,
                "the bridge worker this cursor was reading from is gone",
            ));
        };
        match w.next_frame().await {
            Ok(Frame::Batch(p)) => {
                let bytes = p.to_vec();
                self.push(bytes).map_err(|e| {
                    self.source = Source::Done;
                    bridge_failure(&e)
                })
            }
            Ok(Frame::Complete { .. }) => {
                self.source = Source::Done;
                Ok(())
            }
            Ok(Frame::Error(e)) => {
                self.source = Source::Failed(e);
                Ok(())
            }
            Ok(Frame::Description(_)) => Ok(()),
            Err(e) => {
                self.source = Source::Done;
                Err(bridge_failure(&e))
            }
        }
    }

    /// Whether row `idx` (zero-based) exists, reading from the worker as
    /// far as needed.
    pub async fn ensure(
        &mut self,
        idx: usize,
        mut worker: Option<&mut Worker>,
    ) -> PgWireResult<bool> {
        while idx >= self.first + self.held {
            match &self.source {
                Source::Done => return Ok(false),
                Source::Failed(e) => return Err(backend_error(e)),
                Source::Worker(_) => self.pull(worker.as_deref_mut()).await?,
            }
        }
        Ok(idx >= self.first)
    }

    /// The batch holding row `idx` and the row's offset in it.
    pub fn locate(&self, idx: usize) -> (usize, usize) {
        let mut start = self.first;
        for (b, batch) in self.batches.iter().enumerate() {
            if idx < start + batch.rows {
                return (b, idx - start);
            }
            start += batch.rows;
        }
        unreachable!("row {idx} is not held");
    }

    /// Drops whole batches of rows before `idx` (a NO SCROLL cursor never
    /// returns to them).
    pub fn forget_before(&mut self, idx: usize) {
        while let Some(b) = self.batches.front() {
            if self.first + b.rows > idx {
                break;
            }
            self.first += b.rows;
            self.held -= b.rows;
            self.batches.pop_front();
        }
    }
}
