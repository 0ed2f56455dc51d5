//! Rebuilds the crate when a shared migration is added: `sqlx::migrate!`
//! embeds the directory's files at compile time.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations/platform");
}
