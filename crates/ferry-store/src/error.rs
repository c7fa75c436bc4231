/// A failure of the storage engine itself. Not-found is not an error here:
/// reads return `Option`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A unique key already exists (for example an account name or key id).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The engine failed (I/O, connection, corrupt row).
    #[error("store engine error: {0}")]
    Engine(String),
}
