//! Relay connections: `first`/`after` with opaque keyset cursors and a hard
//! maximum page size, plus `totalCount`. Keyset (not offset) cursors keep
//! pages stable while rows are inserted. `totalCount` costs a `COUNT(*)`, so
//! it is only counted when the client selected it (see [`PageRequest::from_ctx`]).

use crate::{ApiError, ApiResult};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, OutputType, SimpleObject};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::future::Future;

/// Default page size when the client gives no `first`.
pub const DEFAULT_PAGE_SIZE: i64 = 20;
/// Hard maximum page size; larger requests are refused, not silently cut.
pub const MAX_PAGE_SIZE: i64 = 100;

/// A validated page request. `after` is the decoded keyset position.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// How many rows the client wants.
    pub first: i64,
    /// Position after which the page starts: (sort key, id).
    pub after: Option<Cursor>,
    /// Whether the client selected `totalCount`: when not, stores skip the
    /// `COUNT(*)` (see [`PageRequest::total`]) and the field is never read.
    pub count_total: bool,
}

/// A keyset position: the row's sort key and its ID (the tie-breaker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The value of the column the list is ordered by, as text.
    pub key: String,
    /// The row's ID.
    pub id: String,
}

impl Cursor {
    /// Opaque form for clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1|{}|{}", self.key, self.id))
    }

    /// Parses a client cursor; anything we did not issue is `BAD_USER_INPUT`.
    pub fn decode(raw: &str) -> ApiResult<Self> {
        let invalid = || ApiError::bad_input("after is not a valid cursor");
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let rest = text.strip_prefix("v1|").ok_or_else(invalid)?;
        let (key, id) = rest.rsplit_once('|').ok_or_else(invalid)?;
        Ok(Cursor {
            key: key.to_string(),
            id: id.to_string(),
        })
    }
}

impl PageRequest {
    /// Validates `first` and `after` for the connection field `ctx` resolves,
    /// counting the total only if the client selected `totalCount` on it
    /// (directly, under an alias or in a fragment). Every connection
    /// resolver builds its page with this.
    pub fn from_ctx(
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Self> {
        let mut page = Self::new(first, after)?;
        page.count_total = ctx.look_ahead().field("totalCount").exists();
        Ok(page)
    }

    /// Validates `first` and `after` as given by the client, counting the
    /// total (for callers without a GraphQL selection to look at).
    pub fn new(first: Option<i32>, after: Option<String>) -> ApiResult<Self> {
        let first = i64::from(first.unwrap_or(DEFAULT_PAGE_SIZE as i32));
        if first < 0 {
            return Err(ApiError::bad_input("first must not be negative"));
        }
        if first > MAX_PAGE_SIZE {
            return Err(ApiError::bad_input(format!(
                "first must be at most {MAX_PAGE_SIZE}"
            )));
        }
        let after = after.as_deref().map(Cursor::decode).transpose()?;
        Ok(PageRequest {
            first,
            after,
            count_total: true,
        })
    }

    /// The list's total: runs `count` (a `SELECT COUNT(*)` fetching one row)
    /// only when [`count_total`](Self::count_total) is set, and is 0 without
    /// touching the database otherwise (nobody reads it then). A query's
    /// future does nothing until awaited, so callers pass it unawaited.
    pub async fn total<E>(&self, count: impl Future<Output = Result<(i64,), E>>) -> Result<i64, E> {
        if self.count_total {
            count.await.map(|(n,)| n)
        } else {
            Ok(0)
        }
    }

    /// How many rows to fetch: one more than asked, to learn `hasNextPage`.
    pub fn fetch_limit(&self) -> i64 {
        self.first + 1
    }
}

/// Extra connection fields every list offers.
#[derive(SimpleObject, Debug, Clone)]
pub struct CountedFields {
    /// How many items match in total, across all pages.
    // Counted only when selected: see `PageRequest::from_ctx`.
    pub total_count: i64,
}

/// A connection whose type is named after its node (`OrderConnection`).
pub type CountedConnection<N> = Connection<String, N, CountedFields, EmptyFields>;

/// Builds a connection from rows fetched with [`PageRequest::fetch_limit`];
/// `cursor_of` gives each row's keyset position.
pub fn build_connection<N: OutputType>(
    page: &PageRequest,
    mut rows: Vec<N>,
    total_count: i64,
    cursor_of: impl Fn(&N) -> Cursor,
) -> CountedConnection<N> {
    let has_next = rows.len() as i64 > page.first;
    rows.truncate(page.first as usize);
    let mut connection = Connection::with_additional_fields(
        page.after.is_some(),
        has_next,
        CountedFields { total_count },
    );
    connection.edges.extend(
        rows.into_iter()
            .map(|node| Edge::new(cursor_of(&node).encode(), node)),
    );
    connection
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn cursors_round_trip_and_forgeries_fail() {
        let c = Cursor {
            key: "2026-01-01T00:00:00.000000Z".into(),
            id: "abc".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("not-a-cursor").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("v2|x|y")).is_err());
    }

    /// A list of three whose `COUNT(*)` counts how often it runs.
    struct Query(Arc<AtomicUsize>);

    #[async_graphql::Object]
    impl Query {
        async fn items(&self, ctx: &Context<'_>) -> ApiResult<CountedConnection<i32>> {
            let page = PageRequest::from_ctx(ctx, Some(2), None)?;
            let total = page
                .total(async {
                    self.0.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, ApiError>((3,))
                })
                .await?;
            Ok(build_connection(&page, vec![1, 2, 3], total, |n| Cursor {
                key: String::new(),
                id: n.to_string(),
            }))
        }
    }

    /// How many times `query` counted, and its data.
    async fn counts_of(query: &str) -> (usize, serde_json::Value) {
        let counts = Arc::new(AtomicUsize::new(0));
        let schema = async_graphql::Schema::new(
            Query(counts.clone()),
            async_graphql::EmptyMutation,
            async_graphql::EmptySubscription,
        );
        let response = schema.execute(query).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        (
            counts.load(Ordering::SeqCst),
            response.data.into_json().unwrap(),
        )
    }

    #[tokio::test]
    async fn total_is_counted_only_when_selected() {
        let (counts, data) =
            counts_of("{ items { edges { node } pageInfo { hasNextPage } } }").await;
        assert_eq!(counts, 0, "totalCount not selected: no count");
        assert_eq!(data["items"]["edges"].as_array().unwrap().len(), 2);
        for selected in [
            "{ items { totalCount edges { node } } }",
            "{ items { edges { node } } items { totalCount } }",
            "{ items { ... on IntConnection { totalCount } } }",
            "{ items { ...F } } fragment F on IntConnection { totalCount }",
        ] {
            let (counts, data) = counts_of(selected).await;
            assert_eq!(counts, 1, "{selected}");
            assert_eq!(data["items"]["totalCount"], 3, "{selected}");
        }
        let (counts, data) = counts_of("{ items { n: totalCount } }").await;
        assert_eq!((counts, &data["items"]["n"]), (1, &serde_json::json!(3)));
    }

    #[test]
    fn page_size_is_bounded() {
        assert!(PageRequest::new(Some(-1), None).is_err());
        assert!(PageRequest::new(Some(101), None).is_err());
        assert_eq!(PageRequest::new(None, None).unwrap().first, 20);
    }
}
