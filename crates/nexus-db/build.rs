// `sqlx::migrate!` embeds the migration files at compile time, but Cargo does not know
// they are inputs: without this, a new or edited migration is not seen until some Rust
// file of the crate changes too.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
