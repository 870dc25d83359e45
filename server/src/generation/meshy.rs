//! Meshy's text-to-3D API (docs.meshy.ai/api/text-to-3d): `POST /openapi/v2/text-to-3d` with
//! `mode: "preview"` creates a task and answers `{result: id}`; `GET
//! /openapi/v2/text-to-3d/{id}` gives its `status` (`PENDING`, `IN_PROGRESS`, `SUCCEEDED`,
//! `FAILED`, `CANCELED`), `progress` (0 to 100), `model_urls.glb` and `task_error.message`.
//! An error answer is `{message}`. The preview is the untextured mesh: geometry is all a print
//! needs.

use lithos_engine::model::Prompt;
use serde_json::{Value, json};

use super::{GenerationError, Generator, Poll, fraction};

fn message(body: &Value) -> Option<String> {
    body["message"].as_str().map(str::to_owned)
}

pub(super) async fn create(
    generator: &Generator,
    prompt: &Prompt,
) -> Result<String, GenerationError> {
    let body = json!({ "mode": "preview", "prompt": prompt.as_str(), "should_remesh": false });
    let request = generator.http.post(generator.url("/openapi/v2/text-to-3d")).json(&body);
    let answer = generator.send(request, message).await?;
    answer["result"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| generator.malformed("its new task has no `result` id"))
}

pub(super) async fn poll(generator: &Generator, id: &str) -> Result<Poll, GenerationError> {
    let url = generator.url(&format!("/openapi/v2/text-to-3d/{}", urlencoding(id)));
    let task = generator.send(generator.http.get(url), message).await?;
    Ok(match task["status"].as_str() {
        Some("PENDING" | "IN_PROGRESS") => Poll::Running { progress: fraction(&task["progress"]) },
        Some("SUCCEEDED") => match task["model_urls"]["glb"].as_str() {
            Some(url) if !url.is_empty() => Poll::Done { model_url: url.to_owned() },
            _ => return Err(generator.malformed("its finished task has no GLB model")),
        },
        Some("FAILED") => Poll::Failed {
            message: task["task_error"]["message"]
                .as_str()
                .filter(|m| !m.is_empty())
                .unwrap_or("the generation failed, with no reason given")
                .to_owned(),
        },
        Some("CANCELED") => Poll::Failed { message: "the generation was canceled".into() },
        other => return Err(generator.malformed(format!("its task's status is {other:?}"))),
    })
}

/// A provider's id as one path segment.
pub(super) fn urlencoding(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}
