//! At most one field that checks a credential (`login`, `register`,
//! `refreshToken`) per GraphQL request, aliases and fragments included.
//! Without it one request could carry dozens of aliased guesses; the
//! request is refused whole, after parsing and before any field runs.

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Name, Pos, ServerResult, Variables};
use janta_platform::ApiError;
use std::collections::HashSet;
use std::sync::Arc;

/// The mutation fields that check a credential.
const SIGN_IN_FIELDS: [&str; 3] = ["login", "register", "refreshToken"];

/// The schema extension refusing requests with more than one sign-in field.
pub struct OneSignInPerRequest;

impl ExtensionFactory for OneSignInPerRequest {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OneSignInPerRequest)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for OneSignInPerRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let too_many = document.operations.iter().any(|(_, operation)| {
            operation.node.ty == OperationType::Mutation
                && sign_in_fields(
                    &document,
                    &operation.node.selection_set.node,
                    &mut HashSet::new(),
                ) > 1
        });
        if too_many {
            let refusal =
                ApiError::bad_input("at most one of login, register and refreshToken per request");
            return Err(async_graphql::Error::from(refusal).into_server_error(Pos::default()));
        }
        Ok(document)
    }
}

/// Sign-in fields selected at the root of `set`, through fragments (each
/// named fragment counted once, which also stops cycles).
fn sign_in_fields(
    document: &ExecutableDocument,
    set: &SelectionSet,
    seen: &mut HashSet<Name>,
) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(SIGN_IN_FIELDS.contains(&field.node.name.node.as_str()))
            }
            Selection::InlineFragment(fragment) => {
                sign_in_fields(document, &fragment.node.selection_set.node, seen)
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                match document.fragments.get(name) {
                    Some(fragment) if seen.insert(name.clone()) => {
                        sign_in_fields(document, &fragment.node.selection_set.node, seen)
                    }
                    _ => 0,
                }
            }
        })
        .sum()
}
