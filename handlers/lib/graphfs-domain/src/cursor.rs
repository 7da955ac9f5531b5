//! Opaque page cursors: the sort key and id of the last item shown.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort key of the last item: text for created/name, number for size.
    pub k: serde_json::Value,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// A cursor this server gave out, or `InvalidInput`.
    pub fn decode(s: &str) -> Result<Cursor> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| Error::InvalidInput("the cursor is not one this server gave out".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_a_client_error() {
        let c = Cursor {
            k: serde_json::json!(42),
            id: "x".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(matches!(
            Cursor::decode("not a cursor!"),
            Err(Error::InvalidInput(_))
        ));
    }
}
