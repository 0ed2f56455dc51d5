//! `janta-catalog`: runs the catalog subgraph alone (distributed deployment).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    janta_platform::server::run_standalone("catalog", |config| async move {
        let (router, _store) = janta_catalog::build(&config).await?;
        Ok(router)
    })
    .await
}
