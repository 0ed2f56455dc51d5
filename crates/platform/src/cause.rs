//! Who caused a change and which request it belongs to: carried from a
//! resolver or an event handler through the service layer into the audit
//! trail, the events it publishes and the calls it makes to peers, so that
//! one correlation ID joins up everything a request did.

use crate::auth::optional_principal;
use crate::events::Envelope;
use crate::server::CorrelationId;
use async_graphql::Context;

/// The actor of a change and the correlation ID of the request behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    actor: String,
    correlation_id: Option<String>,
}

/// The actor of changes nobody asked for directly (sweepers, expiries,
/// reactions to events).
pub const SYSTEM: &str = "system";

/// The actor recorded for a request without a signed-in caller.
pub const ANONYMOUS: &str = "anonymous";

impl Cause {
    /// `actor` (a user ID, `service:<name>` or [`SYSTEM`]) acting within the
    /// request `correlation_id`.
    pub fn new(actor: impl Into<String>, correlation_id: Option<&str>) -> Self {
        Cause {
            actor: actor.into(),
            correlation_id: correlation_id.map(str::to_string),
        }
    }

    /// The platform itself, within the request `correlation_id` if any.
    pub fn system(correlation_id: Option<&str>) -> Self {
        Cause::new(SYSTEM, correlation_id)
    }

    /// The caller of the GraphQL request in `ctx` (or [`ANONYMOUS`]) and its
    /// correlation ID.
    pub fn of_request(ctx: &Context<'_>) -> Self {
        let actor = optional_principal(ctx).map_or(ANONYMOUS, |p| p.subject.as_str());
        Cause::new(actor, correlation_of(ctx))
    }

    /// `actor` reacting to `envelope`, within the request that caused it.
    pub fn of_event(envelope: &Envelope, actor: impl Into<String>) -> Self {
        Cause::new(actor, envelope.correlation_id.as_deref())
    }

    /// The same request, with another actor (a resolver acting for a
    /// service or on behalf of the system).
    pub fn acting_as(&self, actor: impl Into<String>) -> Self {
        Cause::new(actor, self.correlation())
    }

    /// Who caused the change.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The correlation ID of the request behind the change, if any.
    pub fn correlation(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }
}

/// The correlation ID of the GraphQL request in `ctx`, if the server set one.
pub fn correlation_of<'a>(ctx: &Context<'a>) -> Option<&'a str> {
    ctx.data_opt::<CorrelationId>().map(|c| c.0.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_handler_keeps_the_request_correlation() {
        let envelope = Envelope::new(
            "OrderPlaced",
            "order",
            "o1",
            "u1",
            Some("req-7"),
            serde_json::Value::Null,
        );
        let cause = Cause::of_event(&envelope, "service:payments");
        assert_eq!(cause.actor(), "service:payments");
        assert_eq!(cause.correlation(), Some("req-7"));
        assert_eq!(cause.acting_as(SYSTEM).correlation(), Some("req-7"));
    }
}
