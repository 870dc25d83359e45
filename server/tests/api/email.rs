//! Email, through a real SMTP server (`aiosmtpd`, which the test command starts; without it,
//! the app's outbox directory): the sign-up's confirmation link, password reset, moving the
//! account to a new address, and support replies. Each test follows the links it receives.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, token_in};

#[tokio::test]
async fn sign_up_mails_a_link_that_confirms_the_address_once() {
    let app = TestApp::spawn().await;
    let user = app.user("confirm.me@example.org").await;
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    assert_eq!(me["email_verified"], false, "unverified accounts can use the service");
    let mails = app.mail_to("confirm.me@example.org", 1).await;
    assert!(mails[0].contains("Confirm your email address"), "{}", mails[0]);
    assert!(mails[0].contains("If you did not sign up"), "it says what to do if it was not you");
    let first = token_in(&mails[0]);

    // A resent link voids the first.
    let resent = user.post(app.url("/me/verify")).send().await.unwrap();
    assert_eq!(resent.status(), StatusCode::ACCEPTED);
    let mails = app.mail_to("confirm.me@example.org", 2).await;
    let second = token_in(&mails[1]);
    assert_ne!(first, second);
    let visitor = app.browser();
    let verify = |token: String| {
        visitor.post(app.url("/auth/verify")).json(&json!({ "token": token })).send()
    };
    let stale = verify(first).await.unwrap();
    assert_eq!(stale.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let done = verify(second.clone()).await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done, json!({ "email": "confirm.me@example.org", "changed": false }));
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    assert_eq!(me["email_verified"], true);
    assert_eq!(verify(second).await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY, "once");
    assert_eq!(
        user.post(app.url("/me/verify")).send().await.unwrap().status(),
        StatusCode::CONFLICT
    );
    // Only the hash of a token is stored.
    let db = app.running.as_ref().unwrap().db.clone();
    let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM email_tokens")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert!(hashes.iter().all(|h| h.len() == 64 && !mails.iter().any(|m| m.contains(h.as_str()))));
}

#[tokio::test]
async fn a_password_reset_is_mailed_only_to_an_account_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let user = app.user("forgot@example.org").await;
    let (keyed, _) = app.api_client(&user).await;
    let ask = |email: &'static str| {
        app.browser().post(app.url("/auth/password-reset")).json(&json!({ "email": email })).send()
    };
    let known = ask("Forgot@Example.org").await.unwrap();
    let unknown = ask("nobody@example.org").await.unwrap();
    assert_eq!((known.status(), unknown.status()), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap(), "the same answer");
    let mails = app.mail_to("forgot@example.org", 2).await;
    let reset =
        mails.iter().find(|m| m.contains("Reset your Lithos password")).expect("the reset mail");
    assert!(reset.contains("30 minutes") && reset.contains("If it was not you"));
    let token = token_in(reset);

    let confirm = |token: String, password: &'static str| {
        app.browser()
            .post(app.url("/auth/password-reset/confirm"))
            .json(&json!({ "token": token, "password": password }))
            .send()
    };
    let short = confirm(token.clone(), "short").await.unwrap();
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let done = confirm(token.clone(), "a brand new passphrase").await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(
        user.get(app.url("/me")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "sessions end"
    );
    assert_eq!(
        keyed.get(app.url("/me")).send().await.unwrap().status(),
        StatusCode::OK,
        "API keys stay"
    );
    assert_eq!(
        confirm(token, "another new passphrase").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "once"
    );
    let login = |password: &'static str| {
        app.browser()
            .post(app.url("/auth/login"))
            .json(&json!({ "email": "forgot@example.org", "password": password }))
            .send()
    };
    assert_eq!(login("correct horse battery").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let signed_in = login("a brand new passphrase").await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert_eq!(
        signed_in.json::<Value>().await.unwrap()["email_verified"],
        true,
        "the link reached the address"
    );

    // An expired link is refused.
    ask("forgot@example.org").await.unwrap();
    let mails = app.mail_to("forgot@example.org", 3).await;
    let late = token_in(mails.last().unwrap());
    let db = app.running.as_ref().unwrap().db.clone();
    sqlx::query("UPDATE email_tokens SET expires_at = 0 WHERE purpose = 'reset'")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        confirm(late, "yet another passphrase").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn the_account_moves_to_a_new_address_once_its_link_is_followed() {
    let app = TestApp::spawn().await;
    let user = app.user("old.address@example.org").await;
    app.user("taken@example.org").await;
    let change = |email: &str, password: &str| {
        user.post(app.url("/me/email"))
            .json(&json!({ "email": email, "password": password }))
            .send()
    };
    assert_eq!(
        change("new.address@example.org", "not my password").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        change("TAKEN@example.org", "correct horse battery").await.unwrap().status(),
        StatusCode::CONFLICT
    );
    let pending = change("New.Address@example.org", "correct horse battery").await.unwrap();
    assert_eq!(pending.status(), StatusCode::ACCEPTED);
    assert_eq!(pending.json::<Value>().await.unwrap()["pending_email"], "New.Address@example.org");
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    assert_eq!(
        me["email"], "old.address@example.org",
        "nothing changes until the link is followed"
    );

    let mails = app.mail_to("new.address@example.org", 1).await;
    assert!(mails[0].contains("Confirm your new email address"));
    let moved: Value = app
        .browser()
        .post(app.url("/auth/verify"))
        .json(&json!({ "token": token_in(&mails[0]) }))
        .fetch_json()
        .await;
    assert_eq!(moved, json!({ "email": "New.Address@example.org", "changed": true }));
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    assert_eq!(
        (me["email"].as_str(), me["email_verified"].as_bool()),
        (Some("New.Address@example.org"), Some(true))
    );
    let notices = app.mail_to("old.address@example.org", 2).await;
    let notice =
        notices.iter().find(|m| m.contains("was changed")).expect("the old address is told");
    assert!(
        notice.contains("New.Address@example.org") && notice.contains("If you did not do this")
    );
    let login = |email: &'static str| {
        app.browser()
            .post(app.url("/auth/login"))
            .json(&json!({ "email": email, "password": "correct horse battery" }))
            .send()
    };
    assert_eq!(login("new.address@example.org").await.unwrap().status(), StatusCode::OK);
    assert_eq!(login("old.address@example.org").await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_support_reply_is_mailed_to_the_requester() {
    let app = TestApp::spawn().await;
    let user = app.user("helped@example.org").await;
    let filed: Value = user
        .post(app.url("/support/requests"))
        .json(&json!({ "category": "general", "subject": "A question", "message": "How thick can a lithophane be?" }))
        .fetch_json()
        .await;
    let admin = app.admin("ops@example.org").await;
    admin
        .post(app.url(&format!("/admin/support/{}/reply", filed["id"].as_str().unwrap())))
        .json(&json!({ "message": "Up to 10 mm: see the thickness options." }))
        .send()
        .await
        .unwrap();
    let mails = app.mail_to("helped@example.org", 2).await;
    let reply = mails.iter().find(|m| m.contains("Re: A question")).expect("the reply's mail");
    assert!(
        reply.contains("Up to 10 mm: see the thickness options.") && reply.contains("/#support"),
        "{reply}"
    );
}
