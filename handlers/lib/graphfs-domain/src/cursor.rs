//! Opaque page cursors: the sort key and id of the last item shown.

use base64::Engine;
use serde::{Deserialize, Serialize};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::{Error, FileQuery, FileRecord, Result, SortKey, SortOrder};

/// A time as every backend stores it: RFC 3339 in UTC with microseconds, so
/// that stored times sort as text.
pub fn stored_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A stored time read back; the epoch for a value that is not one.
pub fn parse_stored_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// The sort key a page continues after, typed for a query parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorKey {
    Text(String),
    Number(i64),
}

/// How a listing pages by keyset: the stored field it sorts by, the
/// comparison that continues after a cursor, and the direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyset {
    pub field: &'static str,
    pub cmp: &'static str,
    pub dir: &'static str,
}

impl Keyset {
    pub fn of(sort: SortKey, order: SortOrder) -> Keyset {
        let field = match sort {
            SortKey::Created => "created_at",
            SortKey::Name => "name",
            SortKey::Size => "size",
        };
        let (cmp, dir) = match order {
            SortOrder::Asc => (">", "ASC"),
            SortOrder::Desc => ("<", "DESC"),
        };
        Keyset { field, cmp, dir }
    }
}

/// Where a listing continues: a cursor carries its listing's sort and
/// order, so that a next page is the next page of that listing whatever
/// sort the request asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort key of the last item: text for created/name, number for size.
    pub k: serde_json::Value,
    pub id: String,
    /// The listing's sort and order (absent in cursors from before they
    /// were recorded: the request's then apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<SortKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub o: Option<SortOrder>,
}

impl Cursor {
    /// The cursor of a page that ends with `last`, listed by `sort` in `order`.
    pub fn after(last: &FileRecord, sort: SortKey, order: SortOrder) -> Cursor {
        Cursor {
            s: Some(sort),
            o: Some(order),
            k: match sort {
                SortKey::Created => stored_time(last.created_at).into(),
                SortKey::Name => last.name.clone().into(),
                SortKey::Size => last.size.into(),
            },
            id: last.id.to_string(),
        }
    }

    /// The sort key to continue after, if the cursor came from a listing
    /// with the same sort.
    pub fn key(&self, sort: SortKey) -> Result<CursorKey> {
        match (sort, &self.k) {
            (SortKey::Size, serde_json::Value::Number(n)) => {
                Ok(CursorKey::Number(n.as_i64().unwrap_or(0)))
            }
            (SortKey::Created | SortKey::Name, serde_json::Value::String(s)) => {
                Ok(CursorKey::Text(s.clone()))
            }
            _ => Err(Error::InvalidInput(
                "the cursor belongs to a listing with another sort".into(),
            )),
        }
    }

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

impl FileQuery {
    /// The query a cursor continues: the cursor's sort and order replace
    /// the request's. A cursor this server did not give out is `InvalidInput`.
    pub fn continuing(mut self) -> Result<FileQuery> {
        if let Some(c) = &self.cursor {
            let c = Cursor::decode(c)?;
            self.sort = c.s.unwrap_or(self.sort);
            self.order = c.o.unwrap_or(self.order);
            c.key(self.sort)?;
        }
        Ok(self)
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
            s: Some(SortKey::Size),
            o: Some(SortOrder::Asc),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(matches!(
            Cursor::decode("not a cursor!"),
            Err(Error::InvalidInput(_))
        ));
        assert_eq!(c.key(SortKey::Size).unwrap(), CursorKey::Number(42));
        assert!(matches!(c.key(SortKey::Name), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn a_cursor_continues_its_own_listing() {
        let c = Cursor {
            k: serde_json::json!(42),
            id: "x".into(),
            s: Some(SortKey::Size),
            o: Some(SortOrder::Asc),
        };
        let q = FileQuery {
            sort: SortKey::Name,
            order: SortOrder::Desc,
            cursor: Some(c.encode()),
            ..FileQuery::default()
        }
        .continuing()
        .unwrap();
        assert_eq!((q.sort, q.order), (SortKey::Size, SortOrder::Asc));
        let junk = FileQuery {
            cursor: Some("".into()),
            ..FileQuery::default()
        };
        assert!(matches!(junk.continuing(), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn stored_times_sort_as_text_and_read_back() {
        let a = parse_stored_time("2026-01-02T03:04:05.000006Z");
        assert_eq!(stored_time(a), "2026-01-02T03:04:05.000006Z");
        assert!(stored_time(a) < stored_time(a + chrono::Duration::microseconds(1)));
        assert_eq!(parse_stored_time("junk"), DateTime::<Utc>::default());
    }
}
