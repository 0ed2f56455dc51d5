//! The key that signs access tokens: from the file configuration names,
//! or in dev mode the public development key (which production refuses).

use anyhow::Context as _;
use janta_platform::config::{Mode, SubgraphConfig};

/// The development signing key. Public knowledge by design: production
/// refuses to start with it.
pub const DEV_SIGNING_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIENB53Ta3ZfhbRbUASbiBd7Txds4mo8y3iHAbVwMrHei
-----END PRIVATE KEY-----
";

/// The signing key from config; dev mode falls back to [`DEV_SIGNING_KEY`],
/// production requires a key and refuses the dev one.
pub fn load_signing_key(config: &SubgraphConfig) -> anyhow::Result<String> {
    let pem = match &config.signing_key_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read signing key {}", path.display()))?,
        None if config.mode == Mode::Dev => DEV_SIGNING_KEY.to_string(),
        None => {
            anyhow::bail!("production mode needs JANTA_SIGNING_KEY_FILE (an Ed25519 PKCS#8 PEM)")
        }
    };
    if config.mode == Mode::Production && pem.trim() == DEV_SIGNING_KEY.trim() {
        anyhow::bail!(
            "refusing to start in production mode with the public development signing key"
        );
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production_config(key_file: Option<std::path::PathBuf>) -> SubgraphConfig {
        let mut config = SubgraphConfig::dev("users", 4000, &std::env::temp_dir());
        config.mode = Mode::Production;
        config.signing_key_file = key_file;
        config
    }

    #[test]
    fn production_refuses_a_missing_or_the_development_signing_key() {
        assert!(load_signing_key(&production_config(None)).is_err());
        let dir = std::env::temp_dir().join(format!("janta-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dev_key = dir.join("dev.pem");
        std::fs::write(&dev_key, DEV_SIGNING_KEY).unwrap();
        let err = load_signing_key(&production_config(Some(dev_key))).unwrap_err();
        assert!(err.to_string().contains("development signing key"), "{err}");
        let own_key = dir.join("own.pem");
        std::fs::write(&own_key, janta_platform::auth::generate_pem().unwrap()).unwrap();
        assert!(load_signing_key(&production_config(Some(own_key))).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
