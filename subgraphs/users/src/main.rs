//! `janta-users`: runs the users subgraph alone (distributed deployment).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    janta_platform::server::run_standalone("users", |config| async move {
        let (router, _store) = janta_users::build(&config).await?;
        Ok(router)
    })
    .await
}
