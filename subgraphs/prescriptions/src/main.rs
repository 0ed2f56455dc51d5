//! `janta-prescriptions`: runs the prescriptions subgraph alone (distributed deployment).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    janta_platform::server::run_standalone("prescriptions", |config| async move {
        let (router, _store) = janta_prescriptions::build(&config).await?;
        Ok(router)
    })
    .await
}
