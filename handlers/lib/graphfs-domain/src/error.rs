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
    /// The client's body stream broke off (a disconnect, a malformed chunk):
    /// the client's failure, not the server's.
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
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
            _ if e
                .get_ref()
                .and_then(|r| r.downcast_ref::<ClientBodyError>())
                .is_some() =>
            {
                Error::Interrupted(e.to_string())
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

/// Carried inside an `io::Error` by body streams whose client side failed,
/// so that the store's error says whose failure it was.
#[derive(Debug, Clone)]
pub struct ClientBodyError(pub String);

impl std::fmt::Display for ClientBodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClientBodyError {}

impl ClientBodyError {
    /// The `io::Error` a body stream yields for a client-side failure.
    pub fn io(message: impl std::fmt::Display) -> std::io::Error {
        std::io::Error::other(ClientBodyError(message.to_string()))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_client_body_is_told_apart_from_server_failures_by_type_not_text() {
        let client = Error::from(ClientBodyError::io("error reading a body from connection"));
        assert!(matches!(client, Error::Interrupted(_)), "{client:?}");
        // A server-side failure that mentions a body or a connection stays one.
        let server = Error::from(std::io::Error::other(
            "response body from connection 3 was malformed",
        ));
        assert!(matches!(server, Error::Internal(_)), "{server:?}");
        assert!(matches!(
            Error::from(std::io::Error::other(TooLargeMarker(5))),
            Error::TooLarge { limit: 5 }
        ));
    }
}
