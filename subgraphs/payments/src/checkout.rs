//! The online gateway this deployment takes payments through, with what it
//! needs besides the [`Gateway`] trait: the sandbox's checkout page and
//! webhook deliverer (dev mode), Razorpay's hosted-checkout hand-off and
//! return, and for every online gateway the reconciliation sweeper.
//!
//! Razorpay's return (`POST /checkout/razorpay/callback`) carries the
//! payment's signature (`HMAC-SHA256(order_id|payment_id, key_secret)`): a
//! valid one makes us ask Razorpay at once and settle the payment as its
//! webhook would, so the customer sees the order confirmed without waiting
//! for the webhook (which then changes nothing).

use crate::gateway::{start_sandbox, Gateway, RazorpayGateway, SandboxGateway, RAZORPAY};
use crate::options::{self, PaymentsOptions};
use crate::service::reconcile;
use crate::store;
use crate::PaymentsState;
use axum::extract::{DefaultBodyLimit, Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use janta_kit::Kit;
use janta_platform::config::SubgraphConfig;
use serde::Deserialize;
use std::sync::Arc;

/// The online gateway of this deployment, if any.
pub enum OnlineGateway {
    /// The built-in sandbox (dev mode and tests).
    Sandbox(Arc<SandboxGateway>),
    /// Razorpay.
    Razorpay(Arc<RazorpayGateway>),
    /// None: online payment methods are refused.
    None,
}

impl OnlineGateway {
    /// The gateway `config` chooses; the sandbox keeps its state in `kit`'s store.
    pub fn from_config(config: &SubgraphConfig, options: &PaymentsOptions, kit: &Kit) -> Self {
        if let Some(sandbox) = options::sandbox(config, options.chaos, kit.store()) {
            return OnlineGateway::Sandbox(sandbox);
        }
        match options::razorpay(config) {
            Some(razorpay) => OnlineGateway::Razorpay(razorpay),
            None => OnlineGateway::None,
        }
    }

    /// The gateway behind the trait, for payments and refunds.
    pub fn gateway(&self) -> Option<Arc<dyn Gateway>> {
        match self {
            OnlineGateway::Sandbox(sandbox) => Some(sandbox.clone()),
            OnlineGateway::Razorpay(razorpay) => Some(razorpay.clone()),
            OnlineGateway::None => None,
        }
    }

    /// Starts the gateway's background work on `kit` (the sandbox's
    /// deliverer, reconciliation) and returns its browser-facing routes.
    pub fn start(&self, kit: &Kit, state: &Arc<PaymentsState>) -> Router {
        if matches!(self, OnlineGateway::None) {
            return Router::new();
        }
        let config = kit.config();
        let (after, reconciling) = (config.reconcile_after, state.clone());
        kit.every(
            config.reconcile_interval,
            "reconciling open payments",
            move || {
                let state = reconciling.clone();
                async move { reconcile::sweep(&state, after).await.map(|_| ()) }
            },
        );
        match self {
            OnlineGateway::Sandbox(sandbox) => start_sandbox(kit, sandbox.clone()),
            OnlineGateway::Razorpay(razorpay) => razorpay_routes(state.clone(), razorpay.clone()),
            OnlineGateway::None => Router::new(),
        }
    }
}

type RazorpayState = State<(Arc<PaymentsState>, Arc<RazorpayGateway>)>;

/// Razorpay's hosted-checkout hand-off and return.
fn razorpay_routes(state: Arc<PaymentsState>, razorpay: Arc<RazorpayGateway>) -> Router {
    Router::new()
        .route("/checkout/razorpay/{payment_id}", get(hand_off))
        .route("/checkout/razorpay/callback", post(returned))
        .route(
            "/checkout/razorpay/cancelled",
            post(cancelled).get(cancelled),
        )
        .layer(DefaultBodyLimit::max(8 * 1024))
        .with_state((state, razorpay))
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    (status, Html(html)).into_response()
}

/// `GET /checkout/razorpay/{payment_id}`: sends the customer on to
/// Razorpay's hosted checkout for an open payment.
async fn hand_off(
    State((state, razorpay)): RazorpayState,
    Path(payment_id): Path<String>,
) -> Response {
    match store::payment(state.store.pool(), &payment_id).await {
        Ok(Some(payment)) if payment.gateway == RAZORPAY && payment.status.is_open() => {
            Html(razorpay.checkout_page(
                &payment.id,
                &payment.gateway_payment_id,
                payment.amount.get(),
            ))
            .into_response()
        }
        Ok(Some(_)) => page(
            StatusCode::CONFLICT,
            "Already settled",
            "This payment is no longer open.",
        ),
        Ok(None) => page(StatusCode::NOT_FOUND, "Not found", "No such payment."),
        Err(err) => {
            tracing::error!(error = %err, "checkout lookup failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Try again",
                "Something went wrong on our side.",
            )
        }
    }
}

/// What Razorpay posts when it returns the customer.
#[derive(Deserialize)]
struct Returned {
    razorpay_payment_id: String,
    razorpay_order_id: String,
    razorpay_signature: String,
}

/// `POST /checkout/razorpay/callback`: checks the signature, then settles
/// the payment from what Razorpay says about it.
async fn returned(State((state, razorpay)): RazorpayState, Form(form): Form<Returned>) -> Response {
    let authentic = razorpay.checkout_signature_is_valid(
        &form.razorpay_order_id,
        &form.razorpay_payment_id,
        &form.razorpay_signature,
    );
    if !authentic {
        tracing::warn!(order = %form.razorpay_order_id, "checkout return with a bad signature");
        return page(
            StatusCode::BAD_REQUEST,
            "Not verified",
            "This payment could not be verified.",
        );
    }
    let payment =
        match store::payment_by_gateway_ref(state.store.pool(), RAZORPAY, &form.razorpay_order_id)
            .await
        {
            Ok(Some(payment)) => payment,
            Ok(None) => return page(StatusCode::NOT_FOUND, "Not found", "No such payment."),
            Err(err) => {
                tracing::error!(error = %err, "checkout return lookup failed");
                return page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Try again",
                    "Something went wrong on our side.",
                );
            }
        };
    if let Err(err) = reconcile::reconcile(&state, &payment).await {
        // The webhook or the sweeper settles it; the customer paid either way.
        tracing::warn!(payment_id = %payment.id, error = %format!("{err:#}"), "settling at return failed");
    }
    page(
        StatusCode::OK,
        "Payment received",
        "Thank you: your order is confirmed in a moment.",
    )
}

/// Where Razorpay sends a customer who closed the checkout.
async fn cancelled() -> Response {
    page(
        StatusCode::OK,
        "Payment not completed",
        "You can pay again from your order.",
    )
}
