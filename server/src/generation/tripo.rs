//! Tripo's task API: `POST /v2/openapi/task` with `type: "text_to_model"` (and a `prompt`),
//! or `type: "image_to_model"` (and a `file` of `type` and `file_token`, from uploading the
//! photo to `POST /v2/openapi/upload/sts` as the multipart field `file`, which answers
//! `{code: 0, data: {image_token}}`), answers `{code: 0, data: {task_id}}`;
//! `GET /v2/openapi/task/{id}` gives `data.status` (`queued`, `running`, `success`, `failed`,
//! `cancelled`, `banned`, `expired`, `unknown`), `data.progress` (0 to 100) and
//! `data.output.model` (or `pbr_model`). An error answer is `{code, message, suggestion}`.
//! Only the untextured mesh is asked for (`texture: false`): geometry is all a print needs.

use serde_json::{Value, json};

use super::meshy::urlencoding;
use super::{GenerationError, Generator, Photo, Poll, Subject, fraction};

fn message(body: &Value) -> Option<String> {
    let message = body["message"].as_str()?;
    Some(match body["suggestion"].as_str() {
        Some(suggestion) if !suggestion.is_empty() => format!("{message} ({suggestion})"),
        _ => message.to_owned(),
    })
}

pub(super) async fn create(
    generator: &Generator,
    subject: Subject<'_>,
) -> Result<String, GenerationError> {
    let body = match subject {
        Subject::Prompt(prompt) => json!({
            "type": "text_to_model",
            "prompt": prompt.as_str(),
            "texture": false,
            "pbr": false,
        }),
        Subject::Photo(photo) => json!({
            "type": "image_to_model",
            "file": { "type": photo.format.extension(), "file_token": upload(generator, photo).await? },
            "texture": false,
            "pbr": false,
        }),
    };
    let request = generator.http.post(generator.url("/v2/openapi/task")).json(&body);
    let answer = generator.send(request, message).await?;
    answer["data"]["task_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| generator.malformed("its new task has no `data.task_id`"))
}

/// Uploads `photo`; the token a task names it by.
async fn upload(generator: &Generator, photo: &Photo) -> Result<String, GenerationError> {
    let name = format!("photo.{}", photo.format.extension());
    let part = reqwest::multipart::Part::bytes(photo.bytes.clone())
        .file_name(name)
        .mime_str(photo.format.mime())
        .expect("image/png and image/jpeg are MIME types");
    let form = reqwest::multipart::Form::new().part("file", part);
    let request = generator.http.post(generator.url("/v2/openapi/upload/sts")).multipart(form);
    let answer = generator.send(request, message).await?;
    answer["data"]["image_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| generator.malformed("its upload has no `data.image_token`"))
}

pub(super) async fn poll(generator: &Generator, id: &str) -> Result<Poll, GenerationError> {
    let url = generator.url(&format!("/v2/openapi/task/{}", urlencoding(id)));
    let answer = generator.send(generator.http.get(url), message).await?;
    let task = &answer["data"];
    Ok(match task["status"].as_str() {
        Some("queued" | "running" | "unknown") => {
            Poll::Running { progress: fraction(&task["progress"]) }
        }
        Some("success") => {
            let output = &task["output"];
            match output["model"].as_str().or(output["pbr_model"].as_str()) {
                Some(url) if !url.is_empty() => Poll::Done { model_url: url.to_owned() },
                _ => return Err(generator.malformed("its finished task has no model")),
            }
        }
        Some("failed") => Poll::Failed { message: "the generation failed".into() },
        Some("banned") => Poll::Failed {
            message: "the prompt was refused by the provider's content policy".into(),
        },
        Some("cancelled") => Poll::Failed { message: "the generation was canceled".into() },
        Some("expired") => Poll::Failed { message: "the generation expired".into() },
        other => return Err(generator.malformed(format!("its task's status is {other:?}"))),
    })
}
