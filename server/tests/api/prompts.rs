//! Prompts through an AI generation provider, against the stand-in that speaks Meshy's and
//! Tripo's documented APIs and returns real GLB files written by trimesh
//! (`tests/generation/standin.py`): a broken model is repaired into one closed solid at the
//! quoted price, the provider's refusals, quota and outages fail or retry the task without
//! charging it or paying the provider twice, prompts are refused and hidden without a
//! provider, and a deleted account's prompts are gone.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, Standin, TestApp};

pub(crate) const KEY: &str = "msy_test_key_lithos";
pub(crate) const CREDITS: i64 = 7;

pub(crate) fn provider() -> Standin {
    Standin::start("tests/generation/standin.py", &["--api-key", KEY])
}

pub(crate) async fn app_with(provider: &Standin, kind: &str) -> TestApp {
    let layer: lithos_server::config::GenerationLayer = toml::from_str(&format!(
        r#"
        provider = "{kind}"
        api_base = "{}"
        api_key = "{KEY}"
        credits = {CREDITS}
        poll_seconds = 0.05
        timeout_seconds = 3
        "#,
        provider.base
    ))
    .unwrap();
    TestApp::spawn_with(|config| {
        config.generation = layer;
        config.queue.retry_base = Duration::from_millis(50);
    })
    .await
}

pub(crate) async fn control(provider: &Standin, path: &str) -> Value {
    reqwest::get(format!("{}/control/{path}", provider.base)).await.unwrap().json().await.unwrap()
}

/// The output of task `done`, read back: its volume, and whether it is closed and manifold.
pub(crate) async fn read_back(
    app: &TestApp,
    client: &reqwest::Client,
    done: &Value,
) -> (f64, bool) {
    let id = done["id"].as_str().unwrap();
    let stl = client.get(app.url(&format!("/tasks/{id}/output"))).send().await.unwrap();
    let stl = stl.bytes().await.unwrap();
    let mesh = lithos_engine::inspect::inspect_stl(std::io::Cursor::new(&stl[..])).unwrap();
    (mesh.volume, mesh.is_closed_manifold())
}

/// The volume a model of `volume` m³ and `extents` m has once fitted into the default 6 cm
/// cube.
pub(crate) fn fitted_mm3(model: &Value) -> f64 {
    let longest = model["extents"].as_array().unwrap().iter().map(|e| e.as_f64().unwrap());
    let scale = 60.0 / (longest.fold(0.0, f64::max) * 1000.0);
    model["volume"].as_f64().unwrap() * 1e9 * scale.powi(3)
}

/// Another format of the finished task `done` is made from the same generation: free, the
/// same solid, and nothing new asked of the provider.
pub(crate) async fn another_format_is_free(
    app: &TestApp,
    client: &reqwest::Client,
    provider: &Standin,
    done: &Value,
) {
    let asked = control(provider, "tasks").await.as_array().unwrap().len();
    let balance = app.credits(client).await["balance"].clone();
    let id = done["id"].as_str().unwrap();
    let other = client.post(app.url(&format!("/tasks/{id}/formats")));
    let other: Value = other.json(&json!({ "format": "3mf" })).fetch_json().await;
    let other = app.wait(client, other["id"].as_str().unwrap()).await;
    assert_eq!(other["status"], "succeeded", "{other}");
    assert_eq!(other["result"]["check"]["volume_mm3"], done["result"]["check"]["volume_mm3"]);
    assert_eq!(control(provider, "tasks").await.as_array().unwrap().len(), asked);
    assert_eq!(app.credits(client).await["balance"], balance);
}

/// Without a provider, quoting and submitting `body` of the generated `mode` are 422s on
/// `mode` saying that its tasks are off.
pub(crate) async fn generated_mode_is_off(
    app: &TestApp,
    client: &reqwest::Client,
    body: &Value,
    mode: &str,
) {
    for path in ["/tasks/quote", "/tasks"] {
        let response = client.post(app.url(path)).json(body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], "mode", "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("{mode} tasks are off")), "{message}");
    }
}

#[tokio::test]
async fn a_broken_generated_model_is_repaired_into_one_closed_solid_at_the_quoted_price() {
    let meshy = provider();
    let app = app_with(&meshy, "meshy").await;
    let client = app.user("prompt@example.com").await;
    let doc: Value = client.get(app.url("/openapi.json")).fetch_json().await;
    let unavailable = &doc["components"]["schemas"]["JobMode"]["x-unavailable"];
    assert_eq!(unavailable, &json!({}), "with a provider, every mode is offered");

    let prompt = "a broken box, for a test: ünïcode kept";
    let body = json!({ "mode": "prompt", "params": { "prompt": prompt }, "format": "stl" });
    let quote: Value = client.post(app.url("/tasks/quote")).json(&body).fetch_json().await;
    assert_eq!(quote["cost"], CREDITS, "{quote}");
    let done = app.run_ok(&client, &body).await;
    assert!(done["upload_id"].is_null(), "{done}");
    let result = &done["result"];
    let check = &result["check"];
    assert_eq!((&check["closed"], &check["manifold"]), (&json!(true), &json!(true)), "{check}");
    assert_eq!(check["shells"], 1, "{check}");
    let repairs = &result["model"]["repairs"];
    assert_eq!(repairs["holes_filled"], 1, "the missing side: {repairs}");
    assert!(repairs["faces_flipped"].as_u64().is_some_and(|n| n >= 2), "{result}");
    let stages = result["stages"].as_object().unwrap();
    assert!(stages["generate"].as_f64().is_some_and(|s| s > 0.0), "{result}");
    assert!(!stages.contains_key("fetch"), "nothing is read from storage: {result}");
    let models = control(&meshy, "models").await;
    let (volume, closed) = read_back(&app, &client, &done).await;
    assert!(closed);
    let expected = fitted_mm3(&models["broken"]);
    assert!((volume / expected - 1.0).abs() < 1e-4, "{volume} against {expected}");
    assert_eq!(app.credits(&client).await["balance"], 20 - CREDITS, "exactly the quote");

    // The provider got the prompt as typed, once.
    let tasks = control(&meshy, "tasks").await;
    assert_eq!(tasks.as_array().unwrap().len(), 1, "{tasks}");
    assert_eq!(tasks[0]["prompt"], prompt);

    another_format_is_free(&app, &client, &meshy, &done).await;
    let id = done["id"].as_str().unwrap();

    // Operators see that there was a prompt, not what it said.
    let admin = app.admin("ops@example.com").await;
    let detail: Value = admin.get(app.url(&format!("/admin/jobs/{id}"))).fetch_json().await;
    let redacted = format!("[a prompt of {} characters]", prompt.chars().count());
    assert_eq!(detail["params"]["prompt"], redacted, "{detail}");
    let jobs: Value = admin.get(app.url("/admin/jobs?mode=prompt")).fetch_json().await;
    assert!(!jobs.to_string().contains("broken box"), "{jobs}");

    // A deleted account's prompts are gone with it.
    let task_id = id.to_owned();
    let deleted = client
        .delete(app.url("/me"))
        .json(&json!({ "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let db = &app.running.as_ref().unwrap().db;
    let kept: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT params, generation FROM tasks WHERE user_id = (SELECT user_id FROM tasks WHERE id = $1)")
            .bind(&task_id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(kept.len(), 2, "the rows stay for the ledger");
    for (params, generation) in kept {
        assert!(!params.contains("broken box"), "{params}");
        assert_eq!(generation, None);
    }
}

#[tokio::test]
async fn the_provider_s_refusals_and_quota_fail_the_task_with_its_message_and_charge_nothing() {
    let meshy = provider();
    let app = app_with(&meshy, "meshy").await;
    let client = app.user("refused@example.com").await;
    for (prompt, says) in [
        ("please refuse this one", "The prompt was rejected by the content policy"),
        ("over quota", "Insufficient credits to perform this task"),
        ("a slow sculpture", "did not finish the model within 3 s"),
    ] {
        let body = json!({ "mode": "prompt", "params": { "prompt": prompt } });
        let task = app.submit_ok(&client, &body).await;
        let done = app.wait(&client, task["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "failed", "{done}");
        let error = done["error"].as_str().unwrap();
        assert!(error.contains(says) && error.contains("Meshy"), "{prompt}: {error}");
        assert!(error.contains("not charged"), "{error}");
        assert_eq!(app.credits(&client).await["balance"], 20, "{prompt}: nothing charged");
    }

    // An outage mid-generation: the next attempt follows the same generation, so the
    // provider is paid once.
    let before = control(&meshy, "tasks").await.as_array().unwrap().len();
    let body = json!({ "mode": "prompt", "params": { "prompt": "a cat wearing a hat" } });
    let task = app.submit_ok(&client, &body).await;
    let id = task["id"].as_str().unwrap();
    for _ in 0..200 {
        if control(&meshy, "tasks").await.as_array().unwrap().len() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let outage = reqwest::Client::new().post(format!("{}/control/outage", meshy.base));
    outage.json(&json!({ "count": 1 })).send().await.unwrap();
    let done = app.wait(&client, id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"]["attempt"], 2, "the outage failed the first attempt: {done}");
    assert_eq!(control(&meshy, "tasks").await.as_array().unwrap().len(), before + 1);
    let (volume, closed) = read_back(&app, &client, &done).await;
    let expected = fitted_mm3(&control(&meshy, "models").await["closed"]);
    assert!(closed && (volume / expected - 1.0).abs() < 1e-4, "{volume} against {expected}");
    assert_eq!(app.credits(&client).await["balance"], 20 - CREDITS);
}

#[tokio::test]
async fn tripo_s_task_api_makes_the_same_solid() {
    let tripo = provider();
    let app = app_with(&tripo, "tripo").await;
    let client = app.user("tripo@example.com").await;
    let body =
        json!({ "mode": "prompt", "params": { "prompt": "a capsule", "fit_mm": [30, 30, 30] } });
    let done = app.run_ok(&client, &body).await;
    let tasks = control(&tripo, "tasks").await;
    assert_eq!(tasks[0]["api"], "tripo", "{tasks}");
    let (volume, closed) = read_back(&app, &client, &done).await;
    let expected = fitted_mm3(&control(&tripo, "models").await["closed"]) / 8.0;
    assert!(closed && (volume / expected - 1.0).abs() < 1e-4, "{volume} against {expected}");
    // On the bed, centred, as a generated model is placed unless asked otherwise.
    let bounds = &done["result"]["check"];
    assert_eq!(bounds["shells"], 1, "{bounds}");
}

#[tokio::test]
async fn without_a_provider_prompts_are_refused_and_hidden() {
    let app = TestApp::spawn().await;
    let client = app.user("noprovider@example.com").await;
    let doc: Value = client.get(app.url("/openapi.json")).fetch_json().await;
    let unavailable = &doc["components"]["schemas"]["JobMode"]["x-unavailable"];
    assert!(unavailable["prompt"].as_str().unwrap().contains("no AI generation provider"));
    let body = json!({ "mode": "prompt", "params": { "prompt": "a cat" } });
    generated_mode_is_off(&app, &client, &body, "prompt").await;
    // Wrong requests are named, with or without a provider.
    for (body, field) in [
        (json!({ "mode": "prompt", "params": {} }), "prompt"),
        (json!({ "mode": "prompt", "params": { "prompt": "a\u{7}b" } }), "prompt"),
        (json!({ "mode": "prompt", "params": { "prompt": "x".repeat(601) } }), "prompt"),
        (json!({ "mode": "prompt", "params": { "prompt": "a cat", "units": "cm" } }), "units"),
        (json!({ "mode": "mesh", "params": { "prompt": "a cat" } }), "prompt"),
    ] {
        let response = client.post(app.url("/tasks")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    assert_eq!(app.credits(&client).await["balance"], 20);
}
