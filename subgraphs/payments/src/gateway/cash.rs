//! Cash on delivery as a gateway.

use super::*;

/// Name of the cash-on-delivery "gateway".
pub const CASH: &str = "cash";

/// Cash on delivery as a "gateway": nothing to complete online, no
/// webhooks; the vendor collects the cash on delivery and pays refunds out
/// themselves, so refunds are recorded as done at once.
pub struct CashGateway;

impl CashGateway {
    /// The "gateway reference" of cash payment `payment_id`.
    pub fn reference(payment_id: &str) -> String {
        format!("cod_{payment_id}")
    }
}

#[async_trait]
impl Gateway for CashGateway {
    fn name(&self) -> &'static str {
        CASH
    }

    async fn create_payment(&self, payment: &NewPayment<'_>) -> anyhow::Result<CreatedPayment> {
        Ok(CreatedPayment {
            gateway_payment_id: CashGateway::reference(payment.payment_id),
            checkout_url: None,
        })
    }

    fn parse_webhook(
        &self,
        _headers: &HeaderMap,
        _body: &[u8],
        _now_unix: i64,
    ) -> Result<WebhookEvent, WebhookRejection> {
        Err(WebhookRejection::Unsupported)
    }

    async fn refund(&self, refund: &RefundRequest<'_>) -> anyhow::Result<RefundOutcome> {
        Ok(RefundOutcome::Succeeded {
            gateway_refund_id: format!("cash_{}", refund.refund_id),
        })
    }

    /// Cash settles when the order is delivered, never at a gateway.
    async fn status(&self, _gateway_payment_id: &str) -> anyhow::Result<GatewayStatus> {
        Ok(GatewayStatus::Open)
    }
}
