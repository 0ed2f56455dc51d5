//! `janta-orders`: runs the orders subgraph alone (distributed deployment).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    janta_platform::server::run_standalone("orders", |config| async move {
        let (router, _store) = janta_orders::build(&config).await?;
        Ok(router)
    })
    .await
}
