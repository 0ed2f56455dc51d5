//! `janta-payments`: runs the payments subgraph alone (distributed deployment).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    janta_platform::server::run_standalone("payments", |config| async move {
        let (router, _store) = janta_payments::build(&config).await?;
        Ok(router)
    })
    .await
}
