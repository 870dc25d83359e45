//! Meshy's text-to-3D and image-to-3D APIs (docs.meshy.ai/api/text-to-3d, /api/image-to-3d):
//! `POST /openapi/v2/text-to-3d` with `mode: "preview"`, or `POST /openapi/v1/image-to-3d`
//! with the photo as a data URI in `image_url`, creates a task and answers `{result: id}`;
//! `GET` of the same path with `/{id}` gives its `status` (`PENDING`, `IN_PROGRESS`,
//! `SUCCEEDED`, `FAILED`, `CANCELED`), `progress` (0 to 100), `model_urls.glb` and
//! `task_error.message`. An error answer is `{message}`. Only the untextured mesh is asked
//! for: geometry is all a print needs.

use serde_json::{Value, json};

use super::{GenerationError, Generator, Kind, Poll, Subject, fraction};

fn message(body: &Value) -> Option<String> {
    body["message"].as_str().map(str::to_owned)
}

/// Where tasks of `kind` are created, and read at `/{id}`.
fn path(kind: Kind) -> &'static str {
    match kind {
        Kind::Prompt => "/openapi/v2/text-to-3d",
        Kind::Photo => "/openapi/v1/image-to-3d",
    }
}

pub(super) async fn create(
    generator: &Generator,
    subject: Subject<'_>,
) -> Result<String, GenerationError> {
    let body = match subject {
        Subject::Prompt(prompt) => {
            json!({ "mode": "preview", "prompt": prompt.as_str(), "should_remesh": false })
        }
        Subject::Photo(photo) => json!({
            "image_url": photo.data_uri(),
            "should_texture": false,
            "should_remesh": false,
        }),
    };
    let request = generator.http.post(generator.url(path(subject.kind()))).json(&body);
    let answer = generator.send(request, message).await?;
    answer["result"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| generator.malformed("its new task has no `result` id"))
}

pub(super) async fn poll(
    generator: &Generator,
    kind: Kind,
    id: &str,
) -> Result<Poll, GenerationError> {
    let url = generator.url(&format!("{}/{}", path(kind), urlencoding(id)));
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
