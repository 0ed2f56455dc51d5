//! Traces through the real platform (`janta dev`: the router as a child
//! process, every subgraph in-process) with `JANTA_OTLP_ENDPOINT` pointing
//! at a tiny OTLP/HTTP receiver in this test: one checkout of a
//! prescription medicine, made with the contract's operations, forms one
//! trace from the router through orders, the catalog and prescriptions it
//! calls, and the `OrderPlaced` event payments consumes, with the SQL
//! statements as child spans.

mod support;

use axum::body::Bytes;
use axum::routing::post;
use janta_catalog::demo::AMOXICILLIN_500_KA_LISTING_ID;
use janta_platform::demo::CUSTOMER_ADDRESS_ID;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use prost::Message as _;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{operation, Platform};

/// One span as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    trace_id: String,
    span_id: String,
    parent_id: String,
    name: String,
    service: String,
    attributes: HashMap<String, String>,
}

impl Received {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// The spans received so far.
type Spans = Arc<Mutex<Vec<Received>>>;

fn text(attributes: &[KeyValue]) -> HashMap<String, String> {
    attributes
        .iter()
        .filter_map(|kv| {
            let value = match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(s) => s.clone(),
                any_value::Value::IntValue(i) => i.to_string(),
                any_value::Value::BoolValue(b) => b.to_string(),
                _ => return None,
            };
            Some((kv.key.clone(), value))
        })
        .collect()
}

/// Decodes one OTLP/HTTP protobuf export into `spans`.
fn record(body: &[u8], spans: &Spans) -> Result<(), prost::DecodeError> {
    let request = ExportTraceServiceRequest::decode(body)?;
    let mut spans = spans.lock().unwrap();
    for resource in request.resource_spans {
        let resource_attributes = text(&resource.resource.unwrap_or_default().attributes);
        let service = resource_attributes
            .get("service.name")
            .cloned()
            .unwrap_or_default();
        for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
            spans.push(Received {
                trace_id: hex::encode(&span.trace_id),
                span_id: hex::encode(&span.span_id),
                parent_id: hex::encode(&span.parent_span_id),
                name: span.name,
                service: service.clone(),
                attributes: text(&span.attributes),
            });
        }
    }
    Ok(())
}

/// An OTLP/HTTP receiver on a free port (`POST /v1/traces`, protobuf);
/// returns its base URL and what it receives.
async fn receiver() -> (String, Spans) {
    let spans = Spans::default();
    let sink = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                match record(&body, &sink) {
                    Ok(()) => (
                        axum::http::StatusCode::OK,
                        [(axum::http::header::CONTENT_TYPE, "application/x-protobuf")],
                        Vec::new(),
                    ),
                    Err(_) => (
                        axum::http::StatusCode::BAD_REQUEST,
                        [(axum::http::header::CONTENT_TYPE, "text/plain")],
                        b"not an ExportTraceServiceRequest".to_vec(),
                    ),
                }
            }
        }),
    );
    (janta_testkit::serve(app).await, spans)
}

/// The spans of the trace in which the router served `PlaceOrder`, once it
/// holds spans of every subgraph the checkout touches (and of payments
/// consuming `OrderPlaced`); fails after 60 s with what arrived.
async fn checkout_trace(spans: &Spans) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let all = spans.lock().unwrap().clone();
        let trace = all
            .iter()
            .find(|s| {
                s.service == "janta-router"
                    && s.attribute("graphql.operation.name") == Some("PlaceOrder")
            })
            .map(|s| s.trace_id.clone());
        if let Some(trace) = trace {
            let spans: Vec<Received> = all.into_iter().filter(|s| s.trace_id == trace).collect();
            let has = |f: &dyn Fn(&Received) -> bool| spans.iter().any(f);
            let complete = ["orders", "catalog", "prescriptions", "payments"]
                .iter()
                .all(|sub| has(&|s| s.attribute("janta.subgraph") == Some(sub)))
                && has(&|s| {
                    s.name == "consume OrderPlaced"
                        && s.attribute("janta.subgraph") == Some("payments")
                });
            if complete {
                return spans;
            }
        }
        if Instant::now() > deadline {
            let names: Vec<String> = spans
                .lock()
                .unwrap()
                .iter()
                .map(|s| format!("{} {} {:?}", s.service, s.name, s.attributes))
                .collect();
            panic!("no complete checkout trace within 60 s; received: {names:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The chain of parents of `span` within `trace`, nearest first.
fn ancestors<'a>(span: &Received, trace: &'a [Received]) -> Vec<&'a Received> {
    let by_id: HashMap<&str, &Received> = trace.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let mut chain = Vec::new();
    let mut parent = span.parent_id.as_str();
    while let Some(next) = by_id.get(parent) {
        chain.push(*next);
        parent = next.parent_id.as_str();
    }
    chain
}

#[tokio::test]
async fn one_checkout_is_one_trace_from_the_router_through_subgraphs_and_events() {
    let (otlp, spans) = receiver().await;
    let p = Platform::start_with(&[
        ("JANTA_OTLP_ENDPOINT", otlp.as_str()),
        ("JANTA_OTLP_EXPORT_DELAY", "100ms"),
    ])
    .await;
    let customer = p.login("customer@janta.test").await;
    let prescription = p.approved_prescription(&customer).await;
    p.gql
        .data(
            Some(&customer),
            &operation("AddToCart"),
            json!({"listingId": AMOXICILLIN_500_KA_LISTING_ID, "quantity": 2}),
        )
        .await;
    let placed = p.gql.data(Some(&customer), &operation("PlaceOrder"), json!({"input": {
        "addressId": CUSTOMER_ADDRESS_ID, "prescriptionIds": [prescription], "idempotencyKey": "traced-1"
    }})).await;
    assert_eq!(
        placed["placeOrder"]["orders"][0]["status"],
        "PENDING_PAYMENT"
    );

    let trace = checkout_trace(&spans).await;
    // The router sent orders the mutation (as an anonymous operation of
    // its query plan); orders' span continues the router's.
    let place_order = trace
        .iter()
        .find(|s| {
            s.attribute("janta.subgraph") == Some("orders")
                && s.attribute("graphql.operation.type") == Some("mutation")
        })
        .expect("orders served the mutation in the router's trace");
    assert_eq!(place_order.service, "janta");
    let above = ancestors(place_order, &trace);
    assert!(
        above.iter().any(|s| s.service == "janta-router"
            && s.attribute("graphql.operation.name") == Some("PlaceOrder")),
        "the orders operation does not continue the router's trace: {above:#?}"
    );
    // Orders called catalog and prescriptions inside the operation.
    for callee in ["catalog", "prescriptions"] {
        let served = trace
            .iter()
            .find(|s| s.attribute("janta.subgraph") == Some(callee))
            .unwrap();
        assert!(
            ancestors(served, &trace)
                .iter()
                .any(|s| s.span_id == place_order.span_id),
            "{callee} was not called within PlaceOrder"
        );
    }
    // Payments consumed the order's event in the same trace, after orders
    // published it from the operation's outbox row.
    let consumed = trace
        .iter()
        .find(|s| {
            s.name == "consume OrderPlaced" && s.attribute("janta.subgraph") == Some("payments")
        })
        .unwrap();
    let chain = ancestors(consumed, &trace);
    assert!(
        chain.iter().any(|s| s.name == "publish OrderPlaced"),
        "{chain:#?}"
    );
    assert!(chain.iter().any(|s| s.span_id == place_order.span_id));
    // The SQL statements of the operation are spans under it.
    let statements: Vec<&Received> = trace
        .iter()
        .filter(|s| s.attribute("db.query.text").is_some())
        .filter(|s| {
            ancestors(s, &trace)
                .iter()
                .any(|a| a.span_id == place_order.span_id)
        })
        .collect();
    assert!(
        statements.iter().any(|s| s
            .attribute("db.query.text")
            .unwrap()
            .contains("INSERT INTO")),
        "no INSERT among the operation's statements: {statements:#?}"
    );
}
