use std::time::Duration;

/// Errors crossing the storage seams. Each variant maps to one HTTP status
/// class in the API, so backends must pick the variant honestly: a backend
/// that is down is `Unavailable` (503), never `Internal` (500).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// Visible to the caller but not theirs to change.
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("content larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("requested range not satisfiable (object size {size})")]
    RangeNotSatisfiable { size: u64 },
    #[error("backend unavailable: {message}")]
    Unavailable {
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn unavailable(message: impl Into<String>) -> Self {
        Error::Unavailable {
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Error::Internal(message.to_string())
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound(_))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        match e.kind() {
            NotFound => Error::NotFound("object".into()),
            // A body stream cut short by the size limit surfaces as an io::Error
            // carrying our TooLarge; unwrap it so the API answers 413.
            _ if e
                .get_ref()
                .and_then(|r| r.downcast_ref::<TooLargeMarker>())
                .is_some() =>
            {
                let limit = e
                    .get_ref()
                    .and_then(|r| r.downcast_ref::<TooLargeMarker>())
                    .map(|m| m.0)
                    .unwrap_or_default();
                Error::TooLarge { limit }
            }
            StorageFull | QuotaExceeded | ConnectionRefused | ConnectionReset | TimedOut => {
                Error::unavailable(e.to_string())
            }
            _ => Error::Internal(e.to_string()),
        }
    }
}

/// Carried inside an `io::Error` by body streams that hit the size limit.
#[derive(Debug, Clone, Copy)]
pub struct TooLargeMarker(pub u64);

impl std::fmt::Display for TooLargeMarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "body exceeds the limit of {} bytes", self.0)
    }
}

impl std::error::Error for TooLargeMarker {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
