//! The database a Rust benchmark runs on: a fresh database on the PostgreSQL server named by
//! `LITHOS_BENCH_POSTGRES_URL`, or SQLite in `dir`. Included with
//! `#[path = "common/database.rs"] mod database;`.

use lithos_server::Db;

/// The database's URL and what to call it in the figures.
pub async fn database(dir: &std::path::Path) -> (String, &'static str) {
    match std::env::var("LITHOS_BENCH_POSTGRES_URL") {
        Ok(server) if !server.is_empty() => {
            let name = format!("lithos_bench_{}", lithos_server::new_id());
            let admin = Db::connect(&server).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin.pool).await.unwrap();
            let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
            (format!("{base}/{name}"), "PostgreSQL")
        }
        _ => (format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()), "SQLite"),
    }
}
