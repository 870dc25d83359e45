//! Sign-in through an OpenID Provider on loopback: the time from the provider's redirect
//! reaching `/auth/{provider}/callback` to the answer with the session cookie (state checked
//! and consumed, the code exchanged, the ID token's signature and claims checked, userinfo
//! read, the identity looked up, the session stored). The provider is panva's
//! `oidc-provider` (`tests/oidc/provider.mjs`; `npm ci --prefix tests/oidc` first); the app runs
//! in-process on SQLite. 300 returning sign-ins; prints p50 and p99.
//!
//! `cargo bench --bench sign_in` (`LITHOS_BENCH_SIGN_INS` sets the count).

use std::process::Stdio;
use std::time::{Duration, Instant};

use lithos_server::Config;
use lithos_server::config::{LoginKind, ProviderLayer, Secret};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

const SECRET: &str = "a-client-secret-of-the-benchmark-0123456789";

fn main() {
    // `cargo test --benches` runs this with `--test`-like flags; measure only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

fn location(response: &reqwest::Response) -> String {
    assert!(response.status().is_redirection(), "a redirect, not {}", response.status());
    response.headers()["location"].to_str().unwrap().to_owned()
}

async fn run() {
    let n: usize =
        std::env::var("LITHOS_BENCH_SIGN_INS").ok().and_then(|n| n.parse().ok()).unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let setup = json!({
        "clients": [{ "client_id": "lithos", "client_secret": SECRET,
                      "redirect_uris": [format!("{base}/auth/corp/callback")] }],
        "users": [{ "login": "ada", "password": "ada-password", "sub": "ada-sub",
                    "email": "ada@example.org", "email_verified": true, "name": "Ada",
                    "picture": null, "github_id": 1 }],
    });
    std::fs::write(dir.path().join("setup.json"), setup.to_string()).unwrap();
    let mut provider = tokio::process::Command::new("node")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc/provider.mjs"))
        .arg(dir.path().join("setup.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(provider.stdout.take().unwrap()).lines();
    let issuer = loop {
        let line = lines.next_line().await.unwrap().expect("READY (npm ci --prefix tests/oidc?)");
        if let Some(issuer) = line.strip_prefix("READY ") {
            break issuer.to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let mut corp = ProviderLayer::new(LoginKind::Oidc);
    corp.id = Some("corp".into());
    corp.issuer = Some(issuer);
    corp.client_id = Some("lithos".into());
    corp.client_secret = Some(Secret(SECRET.into()));
    let config = Config {
        data_dir: dir.path().join("data"),
        workers: 0,
        login_providers: vec![corp],
        backend: lithos_engine::BackendChoice::Cpu,
        ..Config::default()
    };
    let app = lithos_server::launch(listener, config).await.unwrap();

    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let join = |from: &str, to: &str| url::Url::parse(from).unwrap().join(to).unwrap().to_string();
    // The first sign-in: the provider's login form, then the birth date.
    let start = browser.get(format!("{base}/auth/corp/start")).send().await.unwrap();
    let authorize = location(&start);
    let form = join(&authorize, &location(&browser.get(&authorize).send().await.unwrap()));
    let posted = browser
        .post(&form)
        .form(&[("login", "ada"), ("password", "ada-password")])
        .send()
        .await
        .unwrap();
    let resume = join(&form, &location(&posted));
    let callback = location(&browser.get(&resume).send().await.unwrap());
    let to = location(&browser.get(&callback).send().await.unwrap());
    let token = to.split("token=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let joined = browser
        .post(format!("{base}/api/v1/auth/providers/join"))
        .header("origin", &base)
        .json(&json!({ "token": token, "birth_date": "1990-05-17" }))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 201);

    // Returning sign-ins (the provider remembers the person, as it would).
    let mut times: Vec<Duration> = Vec::with_capacity(n);
    for i in 0..n + 20 {
        // One address signing in hundreds of times would meet its per-address limit: the
        // counters are cleared (still taken, so their cost is in the figure).
        sqlx::query("DELETE FROM rate_limits").execute(&app.db.pool).await.unwrap();
        let start = browser.get(format!("{base}/auth/corp/start")).send().await.unwrap();
        let authorize = location(&start);
        let callback = location(&browser.get(&authorize).send().await.unwrap());
        let began = Instant::now();
        let answer = browser.get(&callback).send().await.unwrap();
        let took = began.elapsed();
        assert_eq!(location(&answer), "/#convert");
        if i >= 20 {
            times.push(took);
        }
    }
    times.sort();
    let at = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    println!("OpenID Connect sign-in, callback to session, loopback, {n} returning sign-ins:");
    println!("  p50 {:.2} ms, p99 {:.2} ms", at(0.5), at(0.99));
    drop(provider);
}
