//! What bounds the work a client can cause: log lines a flood can trigger,
//! and oversized messages told apart from broken streams.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A bound on how many lines of one kind are written per window: past it,
/// lines are counted instead, and the next line written says how many were
/// left out. A flood of streams or connections then writes a few lines per
/// second, not one per stream.
///
/// ```
/// # use ccaas_shim::limits::LogBudget;
/// # use std::time::Duration;
/// let budget = LogBudget::new(2, Duration::from_secs(60));
/// assert_eq!(budget.take(), Some(0));
/// assert_eq!(budget.take(), Some(0));
/// assert_eq!(budget.take(), None); // counted, not written
/// ```
#[derive(Debug)]
pub struct LogBudget {
    lines: u32,
    window: Duration,
    state: Mutex<BudgetState>,
}

#[derive(Debug)]
struct BudgetState {
    since: Option<Instant>,
    written: u32,
    left_out: u64,
}

impl LogBudget {
    /// At most `lines` lines per `window`.
    pub const fn new(lines: u32, window: Duration) -> Self {
        LogBudget {
            lines,
            window,
            state: Mutex::new(BudgetState {
                since: None,
                written: 0,
                left_out: 0,
            }),
        }
    }

    /// `Some(n)`: write the line, and say that `n` lines were left out
    /// before it; `None`: leave it out (it is counted).
    pub fn take(&self) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if state
            .since
            .is_none_or(|since| now.duration_since(since) >= self.window)
        {
            state.since = Some(now);
            state.written = 0;
        }
        if state.written < self.lines {
            state.written += 1;
            Some(std::mem::take(&mut state.left_out))
        } else {
            state.left_out += 1;
            None
        }
    }
}

/// Writes a `tracing` event if `budget` allows, with `left_out = N` when
/// lines were left out before it: `budgeted!(budget, warn!(key = %v, "text"))`.
macro_rules! budgeted {
    ($budget:expr, $level:ident!($($arg:tt)*)) => {
        match $budget.take() {
            Some(0) => tracing::$level!($($arg)*),
            Some(left_out) => tracing::$level!(left_out, $($arg)*),
            None => {}
        }
    };
}
pub(crate) use budgeted;

/// Lines a stream's peer can trigger, one per message, per stream: ten a
/// second.
pub(crate) fn per_stream_lines() -> LogBudget {
    LogBudget::new(10, Duration::from_secs(1))
}

/// Lines about streams opening and ending, for the whole process: ten a
/// second.
pub(crate) static STREAM_LINES: LogBudget = LogBudget::new(10, Duration::from_secs(1));

/// The size tonic found when it refused a message for its length
/// (`decoded message length too large: found N bytes, the limit is: L
/// bytes`), which it reports as a broken stream.
pub(crate) fn too_large(status: &tonic::Status) -> Option<u64> {
    if status.code() != tonic::Code::OutOfRange {
        return None;
    }
    let message = status.message();
    if !message.contains("decoded message length too large") {
        return None;
    }
    let found = message.split("found ").nth(1)?;
    found.split_whitespace().next()?.parse().ok()
}

/// The status a peer gets for a message past the limit: grpc-go's words
/// (`rpc_util.go`), so that what reads them there reads them here.
pub(crate) fn too_large_status(size: u64, limit: usize) -> tonic::Status {
    tonic::Status::resource_exhausted(format!(
        "grpc: received message larger than max ({size} vs. {limit})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tonic_s_length_refusal_gives_its_size() {
        let status = tonic::Status::out_of_range(
            "Error, decoded message length too large: found 4294967295 bytes, the limit is: 104857600 bytes",
        );
        assert_eq!(too_large(&status), Some(4_294_967_295));
        assert_eq!(too_large(&tonic::Status::out_of_range("other")), None);
        assert_eq!(too_large(&tonic::Status::cancelled("found 5 bytes")), None);
    }

    #[test]
    fn the_budget_counts_what_it_leaves_out_and_says_so_in_the_next_window() {
        let budget = LogBudget::new(1, Duration::from_millis(20));
        assert_eq!(budget.take(), Some(0));
        assert_eq!(budget.take(), None);
        assert_eq!(budget.take(), None);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(budget.take(), Some(2));
        assert_eq!(budget.take(), None);
    }
}
