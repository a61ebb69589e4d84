//! What the server side observed, as plain data for the plan: the ledger's records of each database.
//! (The server side reads them: `crate::mysql`.)

/// What the ledger says about one target database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRecord {
    pub script_name: String,
    pub sha256: String,
    pub total: usize,
    pub done: usize,
    /// `running`, `completed` or `failed`.
    pub outcome: String,
}

impl ScriptRecord {
    pub fn completed(&self) -> bool {
        self.outcome == "completed"
    }
}
