//! `docs/webhooks.md` is what the code renders today: the payloads of the
//! event types, the signature, the retry rules. Regenerate it with
//! `JANTA_BLESS=1 cargo test -p janta-notifications --test webhook_doc`.

use janta_notifications::domain::webhook_signature;
use janta_notifications::webhook_doc::{render, EXAMPLE_SECRET, EXAMPLE_TIMESTAMP};

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/webhooks.md");

#[test]
fn the_committed_webhook_reference_is_fresh() {
    let fresh = render();
    if std::env::var_os("JANTA_BLESS").is_some() {
        std::fs::write(DOC, &fresh).expect("docs/webhooks.md is writable");
    }
    let committed = std::fs::read_to_string(DOC).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/webhooks.md is stale: regenerate it with \
         JANTA_BLESS=1 cargo test -p janta-notifications --test webhook_doc"
    );
}

/// The worked example in the document is a signature a receiver can check
/// with the documented recipe (HMAC-SHA256 of "timestamp.body").
#[test]
fn the_worked_signature_example_is_what_deliveries_carry() {
    let doc = render();
    let body_start = doc.find("printf '%s' '").expect("the openssl example") + 13;
    let signed = &doc[body_start..doc[body_start..].find("' \\").unwrap() + body_start];
    let (timestamp, body) = signed.split_once('.').expect("timestamp.body");
    assert_eq!(timestamp, EXAMPLE_TIMESTAMP.to_string());
    let signature = webhook_signature(EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, body);
    assert!(doc.contains(&format!("Janta-Signature: v1={signature}")));
    for section in [
        "### OrderPlaced",
        "### SettlementIssued",
        "### OrderLine",
        "`ORDER_STATUS_CHANGED`",
    ] {
        assert!(doc.contains(section), "{section}");
    }
}

/// Every operation the document shows is a contract operation, exactly as
/// written there (so the router's trusted documents and the e2e tests run
/// what partners are told to send).
#[test]
fn the_documented_operations_are_in_the_contract() {
    let contract = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/contract/operations.graphql"
    ))
    .expect("the contract");
    let doc = render();
    let blocks: Vec<&str> = doc
        .split("```graphql\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default())
        .collect();
    assert_eq!(blocks.len(), 3);
    for block in blocks {
        assert!(contract.contains(block), "not in the contract:\n{block}");
    }
}
