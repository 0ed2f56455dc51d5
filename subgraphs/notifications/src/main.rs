//! `janta-notifications`: runs the notifications subgraph alone (distributed deployment).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    janta_platform::server::run_standalone("notifications", |config| async move {
        let (router, _store) = janta_notifications::build(&config).await?;
        Ok(router)
    })
    .await
}
