//! Parsed GraphQL documents kept by their text, so that a subgraph parses
//! each document the router sends it once, not on every request.
//!
//! The router sends a subgraph the same few documents again and again (one
//! per query plan node; entity fetches carry their keys as variables), and
//! parsing one is a measurable share of a small request's CPU (`pest` and
//! building the syntax tree: bench/README.md, "What bounds the missed
//! targets"). Only the parse is skipped: a cached document is handed to
//! async-graphql as the request's parsed query, and every check still runs
//! on it — the source limits on the text, the document limits, the cost
//! with this request's variables, the subgraph's own document checks, and
//! validation against the schema.

use crate::query_limits::{check_source, QueryLimits};
use async_graphql::parser::types::ExecutableDocument;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Documents of one subgraph by their text, bounded: two generations of at
/// most `capacity` documents each; a document used in the older one moves
/// to the newer, and when the newer fills up the older is dropped. So
/// documents in use stay, and a caller sending endless distinct documents
/// costs at most `2 × capacity` entries and the parses it would cost anyway.
pub struct ParsedDocuments {
    limits: QueryLimits,
    capacity: usize,
    generations: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    newer: HashMap<Arc<str>, Arc<ExecutableDocument>>,
    older: HashMap<Arc<str>, Arc<ExecutableDocument>>,
}

/// Documents longer than this are parsed every time and not kept: the
/// router's documents are far shorter, and keeping a few huge ones would
/// cost more memory than their parse costs time.
const MAX_KEPT_LENGTH: usize = 16 * 1024;

impl ParsedDocuments {
    /// Keeps up to `2 × capacity` documents that pass `limits`' source
    /// checks (the checks the parser relies on to stay bounded).
    pub fn new(limits: QueryLimits, capacity: usize) -> Self {
        ParsedDocuments {
            limits,
            capacity,
            generations: Mutex::new(Generations::default()),
        }
    }

    /// The parsed document of `query`: the kept one, or one parsed now and
    /// kept. `None` for a document that is too long, breaks the source
    /// limits or does not parse: the schema's normal path refuses it with
    /// the right error.
    pub fn document(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        if query.len() > MAX_KEPT_LENGTH {
            return None;
        }
        if let Some(document) = self.kept(query) {
            return Some(document);
        }
        check_source(query, &self.limits).ok()?;
        let document = Arc::new(async_graphql::parser::parse_query(query).ok()?);
        self.keep(query, document.clone());
        Some(document)
    }

    fn kept(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        let mut generations = self.generations.lock().ok()?;
        if let Some(document) = generations.newer.get(query) {
            return Some(document.clone());
        }
        let (text, document) = generations.older.remove_entry(query)?;
        generations.promote(text, document.clone(), self.capacity);
        Some(document)
    }

    fn keep(&self, query: &str, document: Arc<ExecutableDocument>) {
        if let Ok(mut generations) = self.generations.lock() {
            generations.promote(Arc::from(query), document, self.capacity);
        }
    }

    /// How many documents are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.generations
            .lock()
            .map(|g| g.newer.len() + g.older.len())
            .unwrap_or(0)
    }
}

impl Generations {
    fn promote(&mut self, text: Arc<str>, document: Arc<ExecutableDocument>, capacity: usize) {
        if self.newer.len() >= capacity {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(text, document);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query_limits::ROUTER_LIMITS;

    #[test]
    fn a_document_is_parsed_once_and_served_again() {
        let documents = ParsedDocuments::new(ROUTER_LIMITS, 4);
        let first = documents.document("{ me { id } }").unwrap();
        let again = documents.document("{ me { id } }").unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second request reused the parse"
        );
        assert_eq!(documents.len(), 1);
    }

    #[test]
    fn documents_that_do_not_parse_or_break_the_source_limits_are_not_kept() {
        let documents = ParsedDocuments::new(ROUTER_LIMITS, 4);
        assert!(documents.document("{ me { id }").is_none());
        let nested = format!("{}{}", "{ a ".repeat(60), "}".repeat(60));
        assert!(documents.document(&nested).is_none());
        let long = format!("{{ me {{ id }} }} #{}", "x".repeat(MAX_KEPT_LENGTH));
        assert!(documents.document(&long).is_none());
        assert_eq!(documents.len(), 0);
    }

    #[test]
    fn distinct_documents_never_keep_more_than_two_generations() {
        let documents = ParsedDocuments::new(ROUTER_LIMITS, 4);
        let hot = documents.document("{ hot }").unwrap();
        for n in 0..100 {
            documents.document(&format!("{{ cold{n} }}")).unwrap();
            let again = documents.document("{ hot }").unwrap();
            assert!(Arc::ptr_eq(&hot, &again), "a document in use stays kept");
            assert!(documents.len() <= 8, "{} kept", documents.len());
        }
    }
}
