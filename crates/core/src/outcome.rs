//! What the peer itself would do about a problem: the question an operator
//! asks of every finding.
//!
//! ```
//! use ccaas_core::PeerOutcome;
//!
//! assert_eq!(PeerOutcome::FailsAtLaunch.describe(), "on its own, the peer would fail at the first invoke");
//! ```

use std::fmt;

/// The peer's reaction to a problem, if nothing caught it first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerOutcome {
    /// `peer lifecycle chaincode install` fails.
    RejectsInstall,
    /// Install succeeds; the chaincode fails when first launched (after the
    /// definition is committed).
    FailsAtLaunch,
    /// The peer silently ignores the thing.
    Ignores,
    /// The peer accepts it; this is advice.
    Accepts,
    /// Past one of this builder's bounds on sizes and counts: the peer has
    /// none and would read on, for as long as memory and disk last.
    NoLimit,
}

impl PeerOutcome {
    /// Whether the peer on its own would fail. (`ccaas validate` exits 1 on
    /// errors, which are what this builder refuses.)
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            PeerOutcome::RejectsInstall | PeerOutcome::FailsAtLaunch
        )
    }

    /// A short phrase for an operator.
    pub fn describe(self) -> &'static str {
        match self {
            PeerOutcome::RejectsInstall => "the peer rejects the install",
            PeerOutcome::FailsAtLaunch => "on its own, the peer would fail at the first invoke",
            PeerOutcome::Ignores => "the peer silently ignores it",
            PeerOutcome::Accepts => "the peer accepts it",
            PeerOutcome::NoLimit => "the peer sets no such limit and would read on",
        }
    }

    /// The stable name used in `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerOutcome::RejectsInstall => "rejects-install",
            PeerOutcome::FailsAtLaunch => "fails-at-launch",
            PeerOutcome::Ignores => "ignores",
            PeerOutcome::Accepts => "accepts",
            PeerOutcome::NoLimit => "no-limit",
        }
    }
}

impl fmt::Display for PeerOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}
