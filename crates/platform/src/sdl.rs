//! A subgraph's Federation v2 SDL, as composition and routers read it.

use async_graphql::{ObjectType, SDLExportOptions, Schema, SubscriptionType};

/// The federation SDL of `schema` (with `@link` and composed directives).
pub fn federation_sdl<Q, M, S>(schema: &Schema<Q, M, S>) -> String
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    schema.sdl_with_options(SDLExportOptions::new().federation().compose_directive())
}
