//! Sign-in through login providers, against a real OpenID Provider (panva's `oidc-provider`,
//! `tests/oidc/provider.mjs`) that serves GitHub's user REST endpoints beside it. The sign-in is
//! driven as a browser would drive it, without one: a cookie-keeping client follows each
//! redirect by hand, posts the provider's login form, and hands the code back to Lithos.

use std::process::Stdio;
use std::time::Duration;

use lithos_server::Config;
use lithos_server::config::{LoginKind, ProviderLayer, Secret};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{FetchJson, TestApp, token_in};

const SECRET: &str = "a-client-secret-of-the-tests-0123456789";
const ADULT: &str = "1990-05-17";

/// The provider's people: `ada` and `cy` have verified emails, `bob` has not.
fn users() -> Value {
    json!([
        { "login": "ada", "password": "ada-password", "sub": "ada-sub", "email": "ada@example.org",
          "email_verified": true, "name": "Ada Lovelace", "picture": "https://pictures.example/ada.png",
          "github_id": 1001 },
        { "login": "bob", "password": "bob-password", "sub": "bob-sub", "email": "bob@example.org",
          "email_verified": false, "name": "Bob", "picture": null, "github_id": 1002 },
        { "login": "cy", "password": "cy-password", "sub": "cy-sub", "email": "cy@example.org",
          "email_verified": true, "name": "Cy", "picture": null, "github_id": 1003 },
    ])
}

/// The OpenID Provider, running until dropped.
pub struct Provider {
    pub issuer: String,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl Provider {
    /// Starts the provider with two clients: `lithos` (OpenID Connect, provider id `corp`)
    /// and `lithos-github` (GitHub's form of OAuth 2, provider id `github`), both redirecting
    /// to the app at `base`. `None` when the provider is not installed and the test command
    /// did not ask for it.
    pub async fn start(base: &str) -> Option<Self> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/oidc");
        if !std::path::Path::new(root).join("node_modules/oidc-provider").exists() {
            assert!(
                std::env::var("LITHOS_TEST_REQUIRE_OIDC").is_err(),
                "LITHOS_TEST_REQUIRE_OIDC is set but {root}/node_modules is missing: npm ci --prefix tests/oidc"
            );
            eprintln!("skipped: the OpenID Provider is not installed (npm ci --prefix tests/oidc)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let setup = json!({
            "clients": [
                { "client_id": "lithos", "client_secret": SECRET,
                  "redirect_uris": [format!("{base}/auth/corp/callback")],
                  "token_endpoint_auth_method": "client_secret_basic" },
                { "client_id": "lithos-github", "client_secret": SECRET,
                  "redirect_uris": [format!("{base}/auth/github/callback")],
                  "token_endpoint_auth_method": "client_secret_post" },
            ],
            "users": users(),
        });
        let file = dir.path().join("setup.json");
        std::fs::write(&file, setup.to_string()).unwrap();
        // CI twice saw the provider neither print READY nor exit, which never happened here;
        // a start that stalls is reported with what the kernel says the process is doing,
        // and tried once more.
        let mut stalls = Vec::new();
        for attempt in 1..=2 {
            match Self::spawn(root, &file, &dir.path().join(format!("stderr-{attempt}"))).await {
                Ok((issuer, child)) => {
                    if !stalls.is_empty() {
                        eprintln!(
                            "the OpenID Provider started at attempt {attempt}:\n{}",
                            stalls.join("\n")
                        );
                    }
                    return Some(Self { issuer, _child: child, _dir: dir });
                }
                Err(stall) => stalls.push(stall),
            }
        }
        panic!("the OpenID Provider did not start:\n{}", stalls.join("\n"));
    }

    /// One start of `provider.mjs`: its issuer once it prints READY, or what it was doing
    /// when it had not after [`STEP`].
    async fn spawn(
        root: &str,
        setup: &std::path::Path,
        stderr: &std::path::Path,
    ) -> Result<(String, tokio::process::Child), String> {
        let mut child = tokio::process::Command::new("node")
            .arg(format!("{root}/provider.mjs"))
            .arg(setup)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(stderr).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(issuer) = line.strip_prefix("READY ") {
                    return Some(issuer.to_owned());
                }
            }
            None
        };
        match tokio::time::timeout(STEP, ready).await {
            Ok(Some(issuer)) => {
                // Drained to the end: a closed pipe would kill the provider at its next line.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                Ok((issuer, child))
            }
            outcome => {
                let pid = child.id().unwrap_or_default();
                let proc = |name: &str| {
                    std::fs::read_to_string(format!("/proc/{pid}/{name}")).unwrap_or_default()
                };
                let state = proc("status")
                    .lines()
                    .find(|l| l.starts_with("State:"))
                    .unwrap_or("")
                    .to_owned();
                let report = format!(
                    "- {} (pid {pid}, {state}, wchan {:?}); stack:\n{}; stderr:\n{}",
                    if outcome.is_ok() {
                        "exited before READY"
                    } else {
                        "no READY within the step"
                    },
                    proc("wchan"),
                    proc("stack"),
                    std::fs::read_to_string(stderr).unwrap_or_default(),
                );
                let _ = child.kill().await;
                Err(report)
            }
        }
    }

    /// Adds `corp` and `github` to the app's configuration.
    pub fn configure(&self, config: &mut Config) {
        let mut corp = ProviderLayer::new(LoginKind::Oidc);
        corp.id = Some("corp".into());
        corp.name = Some("Corp SSO".into());
        corp.issuer = Some(self.issuer.clone());
        corp.client_id = Some("lithos".into());
        corp.client_secret = Some(Secret(SECRET.into()));
        let mut github = ProviderLayer::new(LoginKind::Github);
        github.client_id = Some("lithos-github".into());
        github.client_secret = Some(Secret(SECRET.into()));
        github.authorize_url = Some(format!("{}/auth", self.issuer));
        github.token_url = Some(format!("{}/token", self.issuer));
        github.api_url = Some(format!("{}/github", self.issuer));
        config.login_providers = vec![corp, github];
    }

    /// Makes the next ID tokens dishonest (see `provider.mjs`), or honest again with `None`.
    pub async fn forge(&self, mode: Option<&str>) {
        let response = Client::builder()
            .timeout(STEP)
            .build()
            .unwrap()
            .post(format!("{}/test/forge", self.issuer))
            .body(json!({ "mode": mode }).to_string())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
}

/// The app with the provider configured, or `None` when the provider is not installed.
pub async fn app_with_provider() -> Option<(TestApp, Provider)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let provider = Provider::start(&base).await?;
    let app = TestApp::spawn_on(listener, |c| provider.configure(c)).await;
    Some((app, provider))
}

/// The longest any one request of these tests may take: a provider or app that stops
/// answering fails the test at the step that hung rather than hanging the suite.
const STEP: Duration = Duration::from_secs(60);

/// A browser that keeps cookies, sends the app's Origin on writes, and follows no redirect.
pub fn browser(app: &TestApp) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", app.base.parse().unwrap());
    Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(STEP)
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    assert!(response.status().is_redirection(), "expected a redirect, got {}", response.status());
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// `to` resolved against `from`.
fn join(from: &str, to: &str) -> String {
    url::Url::parse(from).unwrap().join(to).unwrap().to_string()
}

/// Goes from the provider's authorize URL through its login form as `login` (unless the
/// browser is still signed in there); returns the
/// provider's redirect back to the app (the callback URL with `code`, `state` and `iss`).
pub async fn at_provider(browser: &Client, authorize: &str, login: &str) -> String {
    let to_form = browser.get(authorize).send().await.unwrap();
    let form = join(authorize, &location(&to_form));
    if !form.contains("/interaction/") {
        // Still signed in at the provider: straight back.
        return form;
    }
    let page = browser.get(&form).send().await.unwrap().text().await.unwrap();
    let action = page.split("action=\"").nth(1).unwrap().split('"').next().unwrap();
    let password = format!("{login}-password");
    let wrong = browser
        .post(join(&form, action))
        .form(&[("login", login), ("password", "not-the-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "the provider checks passwords");
    let posted = browser
        .post(join(&form, action))
        .form(&[("login", login), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    let resume = join(&form, &location(&posted));
    let back = browser.get(&resume).send().await.unwrap();
    location(&back)
}

/// Signs in with `provider` as `login` up to the provider's redirect back (not followed).
pub async fn to_callback(app: &TestApp, browser: &Client, provider: &str, login: &str) -> String {
    let start = browser.get(format!("{}/auth/{provider}/start", app.base)).send().await.unwrap();
    let authorize = location(&start);
    at_provider(browser, &authorize, login).await
}

/// Hands the callback URL to the app; returns where the app sends the browser.
pub async fn finish(browser: &Client, callback: &str) -> String {
    let response = browser.get(callback).send().await.unwrap();
    location(&response)
}

/// The whole sign-in; returns where the app sends the browser at the end.
pub async fn sign_in(app: &TestApp, browser: &Client, provider: &str, login: &str) -> String {
    let callback = to_callback(app, browser, provider, login).await;
    finish(browser, &callback).await
}

/// The value of `key` in the query of a `/#view?query` location.
pub fn param(location: &str, key: &str) -> Option<String> {
    let query = location.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let db = &app.running.as_ref().unwrap().db;
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&db.pool).await.unwrap()
}

/// Accounts, identities and sessions: what a refused sign-in must not create.
async fn footprint(app: &TestApp) -> (i64, i64, i64) {
    (count(app, "users").await, count(app, "identities").await, count(app, "sessions").await)
}

async fn join_with(
    app: &TestApp,
    browser: &Client,
    token: &str,
    birth_date: &str,
) -> reqwest::Response {
    browser
        .post(app.url("/auth/providers/join"))
        .json(&json!({ "token": token, "birth_date": birth_date }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_person_gives_a_birth_date_before_any_account_exists_then_returns() {
    let Some((app, _provider)) = app_with_provider().await else { return };
    let providers: Value = Client::new().get(app.url("/auth/providers")).fetch_json().await;
    assert_eq!(
        providers["providers"],
        json!([{ "id": "corp", "name": "Corp SSO" }, { "id": "github", "name": "GitHub" }])
    );
    let browser = browser(&app);
    let to = sign_in(&app, &browser, "corp", "ada").await;
    assert!(to.starts_with("/#join?"), "{to}");
    assert_eq!(param(&to, "provider").as_deref(), Some("Corp SSO"));
    assert_eq!(footprint(&app).await, (0, 0, 0), "nothing before the birth date");

    // Under 13: refused, and the waiting sign-up is gone with everything in it.
    let token = param(&to, "token").unwrap();
    let today = time::OffsetDateTime::now_utc().date();
    let child = format!("{}-01-01", today.year() - 10);
    let refused = join_with(&app, &browser, &token, &child).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(footprint(&app).await, (0, 0, 0));
    assert_eq!(count(&app, "login_signups").await, 0, "nothing kept of a refused person");
    assert_eq!(join_with(&app, &browser, &token, ADULT).await.status(), StatusCode::GONE);

    // Again, as an adult: the account, with the provider's verified email and picture.
    let to = sign_in(&app, &browser, "corp", "ada").await;
    let joined = join_with(&app, &browser, &param(&to, "token").unwrap(), ADULT).await;
    assert_eq!(joined.status(), StatusCode::CREATED);
    let me: Value = browser.get(app.url("/me")).fetch_json().await;
    assert_eq!(me["email"], "ada@example.org");
    assert_eq!(me["name"], "Ada Lovelace");
    assert_eq!(me["email_verified"], true);
    assert_eq!(me["has_password"], false);
    assert_eq!(me["avatar_url"], "https://pictures.example/ada.png");
    assert_eq!(me["credits"], Config::default().free_credits);
    let identities: Value = browser.get(app.url("/me/identities")).fetch_json().await;
    let identities = &identities["identities"];
    assert_eq!(identities.as_array().unwrap().len(), 1);
    assert_eq!(identities[0]["provider"], "corp");
    assert_eq!(identities[0]["email"], "ada@example.org");
    // No password opens an account that has none.
    let password = Client::new()
        .post(app.url("/auth/login"))
        .json(&json!({ "email": "ada@example.org", "password": "" }))
        .send()
        .await
        .unwrap();
    assert_eq!(password.status(), StatusCode::UNAUTHORIZED);

    // Returning, in another browser: straight in, as the same account.
    let other = crate::login::browser(&app);
    let to = sign_in(&app, &other, "corp", "ada").await;
    assert_eq!(to, "/#convert");
    let again: Value = other.get(app.url("/me")).fetch_json().await;
    assert_eq!(again["id"], me["id"]);
    assert_eq!(count(&app, "users").await, 1);

    // Deleting an account without a password: a recent sign-in confirms it.
    let deleted = other.delete(app.url("/me")).json(&json!({})).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK, "{}", deleted.text().await.unwrap());
    assert_eq!(count(&app, "identities").await, 0, "identities go with the account");
}

#[tokio::test]
async fn an_existing_account_is_linked_automatically_only_when_both_sides_verified_the_email() {
    let Some((app, _provider)) = app_with_provider().await else { return };
    // A password account for ada@example.org, its email not yet confirmed.
    let owner = app.user("ada@example.org").await;
    let me: Value = owner.get(app.url("/me")).fetch_json().await;
    let before = footprint(&app).await;

    let browser = browser(&app);
    let to = sign_in(&app, &browser, "corp", "ada").await;
    assert!(to.starts_with("/#login?"), "{to}");
    let error = param(&to, "error").unwrap();
    assert!(error.contains("sign in with your password, then link Corp SSO"), "{error}");
    assert_eq!(footprint(&app).await, before, "no second account, no identity, no session");

    // Once the address is confirmed, the same sign-in links and signs in.
    let mail = app.mail_to("ada@example.org", 1).await;
    let verified = Client::new()
        .post(app.url("/auth/verify"))
        .json(&json!({ "token": token_in(&mail[0]) }))
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), StatusCode::OK);
    let to = sign_in(&app, &browser, "corp", "ada").await;
    assert_eq!(to, "/#convert?linked=corp");
    let signed_in: Value = browser.get(app.url("/me")).fetch_json().await;
    assert_eq!(signed_in["id"], me["id"]);
    assert_eq!(signed_in["has_password"], true, "the verified account keeps its password");

    // The provider does not vouch for bob's address: no link, even to a verified account.
    let bob = app.user("bob@example.org").await;
    let mail = app.mail_to("bob@example.org", 1).await;
    let done = bob
        .post(app.url("/auth/verify"))
        .json(&json!({ "token": token_in(&mail[0]) }))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let before = footprint(&app).await;
    let to = sign_in(&app, &crate::login::browser(&app), "corp", "bob").await;
    assert!(param(&to, "error").unwrap().contains("then link Corp SSO"), "{to}");
    assert_eq!(footprint(&app).await, before);
}

#[tokio::test]
async fn linking_from_settings_is_refused_for_a_taken_identity_and_unlinking_keeps_a_way_in() {
    let Some((app, _provider)) = app_with_provider().await else { return };
    let first = browser(&app);
    let made = first
        .post(app.url("/auth/register"))
        .json(&json!({ "email": "first@example.org", "password": "correct horse battery", "name": "First", "birth_date": ADULT }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);

    // Linking cy's identity while signed in; the account's email was never verified, so its
    // password is disabled first.
    let link = |client: Client, provider: &'static str| {
        let app_url = app.url("/me/identities");
        async move {
            let answer: Value =
                client.post(app_url).json(&json!({ "provider": provider })).fetch_json().await;
            answer["redirect_url"].as_str().unwrap().to_owned()
        }
    };
    let callback = at_provider(&first, &link(first.clone(), "corp").await, "cy").await;
    let to = finish(&first, &callback).await;
    assert_eq!(to, "/#account?linked=corp&password_disabled=1");
    let me: Value = first.get(app.url("/me")).fetch_json().await;
    assert_eq!(me["has_password"], false);
    let login = Client::new()
        .post(app.url("/auth/login"))
        .json(&json!({ "email": "first@example.org", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED, "the disabled password opens nothing");

    // Someone else cannot link the same identity.
    let second = browser(&app);
    let made = second
        .post(app.url("/auth/register"))
        .json(&json!({ "email": "second@example.org", "password": "correct horse battery", "name": "Second", "birth_date": ADULT }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let before = count(&app, "identities").await;
    let callback = at_provider(&second, &link(second.clone(), "corp").await, "cy").await;
    let to = finish(&second, &callback).await;
    assert!(to.starts_with("/#account?link_error="), "{to}");
    assert!(param(&to, "link_error").unwrap().contains("already linked to another"));
    assert_eq!(count(&app, "identities").await, before);
    let theirs: Value = second.get(app.url("/me")).fetch_json().await;
    assert_eq!(theirs["has_password"], true, "a refused link changes nothing");

    // Unlinking: not the last way in; after GitHub is linked too, corp can go.
    let identities: Value = first.get(app.url("/me/identities")).fetch_json().await;
    let corp = identities["identities"][0]["id"].as_str().unwrap().to_owned();
    let unlink = |id: String| first.delete(app.url(&format!("/me/identities/{id}"))).send();
    assert_eq!(unlink(corp.clone()).await.unwrap().status(), StatusCode::CONFLICT);
    let callback = at_provider(&first, &link(first.clone(), "github").await, "cy").await;
    assert_eq!(finish(&first, &callback).await, "/#account?linked=github");
    assert_eq!(unlink(corp.clone()).await.unwrap().status(), StatusCode::OK);
    // Another user's identity is not found.
    let identities: Value = first.get(app.url("/me/identities")).fetch_json().await;
    let github = identities["identities"][0]["id"].as_str().unwrap().to_owned();
    let by_other =
        second.delete(app.url(&format!("/me/identities/{github}"))).send().await.unwrap();
    assert_eq!(by_other.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        unlink(github).await.unwrap().status(),
        StatusCode::CONFLICT,
        "the last way in stays"
    );
}

#[tokio::test]
async fn github_sign_in_uses_the_numeric_id_and_the_primary_verified_email() {
    let Some((app, _provider)) = app_with_provider().await else { return };
    let browser = browser(&app);
    let to = sign_in(&app, &browser, "github", "cy").await;
    let joined = join_with(&app, &browser, &param(&to, "token").unwrap(), ADULT).await;
    assert_eq!(joined.status(), StatusCode::CREATED);
    let me: Value = joined.json().await.unwrap();
    assert_eq!(me["email"], "cy@example.org", "the primary verified address, not the noreply one");
    assert_eq!(me["email_verified"], true);
    let db = &app.running.as_ref().unwrap().db;
    let (provider, subject): (String, String) =
        sqlx::query_as("SELECT provider, subject FROM identities")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((provider.as_str(), subject.as_str()), ("github", "1003"));

    // bob's primary address is unverified at GitHub: no account.
    let before = footprint(&app).await;
    let to = sign_in(&app, &crate::login::browser(&app), "github", "bob").await;
    assert!(param(&to, "error").unwrap().contains("did not share a verified email"), "{to}");
    assert_eq!(footprint(&app).await, before);
}

#[tokio::test]
async fn forged_replayed_and_mixed_up_callbacks_are_refused_with_nothing_created() {
    let Some((app, provider)) = app_with_provider().await else { return };
    let refused = |to: &str| {
        assert!(to.starts_with("/#login?error="), "refused: {to}");
        param(to, "error").unwrap()
    };

    // A tampered state.
    let browser = browser(&app);
    let callback = to_callback(&app, &browser, "corp", "ada").await;
    let tampered = callback.replace("state=", "state=x");
    assert!(refused(&finish(&browser, &tampered).await).contains("not valid any more"));
    // The same callback in another browser (no state cookie): login CSRF.
    let callback = to_callback(&app, &browser, "corp", "ada").await;
    let elsewhere = crate::login::browser(&app);
    assert!(refused(&finish(&elsewhere, &callback).await).contains("not valid any more"));
    // A callback claiming another issuer (a mix-up).
    let callback = to_callback(&app, &browser, "corp", "ada").await;
    let mixed = callback.replace("iss=", "iss=https%3A%2F%2Fevil.example&was=");
    assert!(refused(&finish(&browser, &mixed).await).contains("security checks"));
    assert_eq!(footprint(&app).await, (0, 0, 0));

    // A used callback, replayed; and its code, replayed under a fresh state.
    let callback = to_callback(&app, &browser, "corp", "ada").await;
    assert!(finish(&browser, &callback).await.starts_with("/#join?"));
    assert!(refused(&finish(&browser, &callback).await).contains("not valid any more"));
    let code = param(&callback, "code").unwrap();
    let fresh = to_callback(&app, &browser, "corp", "ada").await;
    let with_old_code = fresh.replace(&param(&fresh, "code").unwrap(), &code);
    assert!(refused(&finish(&browser, &with_old_code).await).contains("refused the sign-in"));

    // A wrong nonce: the stored request's nonce is not the one in the ID token.
    let start = browser.get(format!("{}/auth/corp/start", app.base)).send().await.unwrap();
    let authorize = location(&start);
    let db = &app.running.as_ref().unwrap().db;
    sqlx::query("UPDATE login_requests SET nonce = 'another-nonce'")
        .execute(&db.pool)
        .await
        .unwrap();
    let callback = at_provider(&browser, &authorize, "ada").await;
    assert!(refused(&finish(&browser, &callback).await).contains("security checks"));

    // An ID token signed by a key the provider does not publish, and one for another client.
    for mode in ["other-key", "audience"] {
        provider.forge(Some(mode)).await;
        let callback = to_callback(&app, &browser, "corp", "ada").await;
        assert!(refused(&finish(&browser, &callback).await).contains("security checks"), "{mode}");
    }
    assert_eq!(footprint(&app).await, (0, 0, 0), "nothing created by any refusal");
    assert_eq!(count(&app, "login_signups").await, 1, "only the honest sign-in's question");

    // A rotated key that the cached JWKS lacks: re-discovered, then accepted.
    provider.forge(Some("rotated")).await;
    let to = sign_in(&app, &browser, "corp", "ada").await;
    assert!(to.starts_with("/#join?"), "{to}");
    provider.forge(None).await;
}
