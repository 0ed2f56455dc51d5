//! `POST /webhooks/{gateway}`: where gateways report what happened. The
//! gateway authenticates the request (signature and timestamp) before
//! anything in the body is read; an unauthentic or stale request is
//! refused with 400/401 and changes nothing. An authentic event is recorded
//! once per gateway event ID and applied only if it moves the payment
//! forward; the answer is 200 either way, so the gateway stops retrying.
//! 500 (retry later) only when we could not record it.

use crate::gateway::{WebhookKind, MAX_WEBHOOK_BODY};
use crate::{service, PaymentsState};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

/// The webhook routes of every configured gateway.
pub fn routes(state: Arc<PaymentsState>) -> Router {
    Router::new()
        .route("/webhooks/{gateway}", post(receive))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY))
        .with_state(state)
}

async fn receive(
    State(state): State<Arc<PaymentsState>>,
    Path(gateway): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(gateway) = state.gateways.by_name(&gateway).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such gateway" })),
        )
            .into_response();
    };
    let now = chrono::Utc::now().timestamp();
    let event = match gateway.parse_webhook(&headers, &body, now) {
        Ok(event) => event,
        Err(rejection) => {
            tracing::warn!(
                gateway = gateway.name(),
                reason = rejection.message(),
                "webhook refused"
            );
            return (
                rejection.status(),
                Json(json!({ "error": rejection.message() })),
            )
                .into_response();
        }
    };
    let raw = String::from_utf8_lossy(&body);
    match service::apply_webhook(&state, gateway.name(), &event, &raw).await {
        Ok(outcome) => {
            tracing::info!(gateway = gateway.name(), event_id = %event.event_id, event_type = %event.event_type, %outcome, "webhook");
            if event.kind == WebhookKind::PaymentAuthorized {
                service::reconcile::capture_authorized(
                    &state,
                    gateway.name(),
                    &event.gateway_payment_id,
                )
                .await;
            }
            (
                StatusCode::OK,
                Json(json!({ "received": true, "outcome": outcome })),
            )
                .into_response()
        }
        Err(err) => {
            tracing::error!(gateway = gateway.name(), event_id = %event.event_id, error = %err, "webhook not recorded");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "internal error; retry later" })),
            )
                .into_response()
        }
    }
}
