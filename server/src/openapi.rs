//! The OpenAPI document's frame: its title, security schemes and the shared types handlers
//! name. The paths come from the route table (`routes::api`), which registers each handler
//! with its operation.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, ToSchema)]
#[expect(dead_code, reason = "describes the JSON that ApiError writes")]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, ToSchema)]
#[expect(dead_code, reason = "describes the JSON that ApiError writes")]
pub struct ErrorDetail {
    code: String,
    message: String,
    field: Option<String>,
}

/// The signed-in account.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Profile {
    pub id: String,
    pub email: String,
    /// Whether the address was confirmed through a link mailed to it.
    pub email_verified: bool,
    /// Whether the account has a password (one made through a login provider has none until
    /// a password reset sets one).
    pub has_password: bool,
    pub name: String,
    pub avatar_url: Option<String>,
    pub plan: String,
    pub role: String,
    /// The balance: the ledger's sum.
    pub credits: i64,
}

/// An action that has nothing more to say than that it was done.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Done {
    /// Always `true`.
    pub ok: bool,
}

/// A multipart upload: one image or volume in the field `file`.
#[derive(Debug, ToSchema)]
#[expect(dead_code, reason = "describes the multipart form")]
pub struct UploadForm {
    /// An image, or a volume: a DICOM file, a ZIP of DICOM, PNG or TIFF slices, NIfTI
    /// (`.nii`, `.nii.gz`), a multi-page TIFF, or raw samples with `raw_dims` and `raw_type`.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
    /// A raw volume's voxels along x, y and z: `X,Y,Z`.
    #[schema(pattern = "^[0-9]+,[0-9]+,[0-9]+$")]
    raw_dims: Option<String>,
    /// A raw volume's little-endian sample type: u8, u16 or f32.
    raw_type: Option<String>,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))),
        );
    }
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Lithos", description = "Images to 3D-printable meshes: accounts, uploads, tasks and credits."),
    components(schemas(ErrorBody, ErrorDetail, Profile, UploadForm, lithos_engine::JobRequest, lithos_engine::JobMode, lithos_engine::MeshFormat, crate::tasks::status::TaskStatus, crate::tasks::pictures::Picture)),
    modifiers(&Security),
)]
pub struct ApiDoc;

/// Marks the modes this server cannot run in `JobMode`'s `x-unavailable`, each with why, so
/// the web app leaves them out: prompts and sculpts without a generation provider.
pub fn with_unavailable_modes(
    mut doc: utoipa::openapi::OpenApi,
    generation: bool,
) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{RefOr, Schema};
    let mut unavailable = serde_json::Map::new();
    if !generation {
        for mode in lithos_engine::JobMode::ALL.iter().filter(|m| m.is_generated()) {
            unavailable.insert(
                mode.name().to_owned(),
                "this Lithos has no AI generation provider configured".into(),
            );
        }
    }
    let mode = doc.components.as_mut().and_then(|c| c.schemas.get_mut("JobMode"));
    if let Some(RefOr::T(Schema::Object(object))) = mode {
        let extensions = object.extensions.get_or_insert_with(Default::default);
        extensions.insert("x-unavailable".into(), serde_json::Value::Object(unavailable));
    }
    doc
}

/// Adds the answers every operation of a kind can give, so no handler has to list them and
/// none can forget: 401 where a sign-in is required, 403 on the console's routes, and 400,
/// 413 and 415 where the body is JSON. The route table's document goes through this once.
pub fn with_common_responses(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
            )
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations =
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            let mut common = Vec::new();
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                common.push(("401", "Not signed in"));
            }
            if path.starts_with("/api/v1/admin") {
                common.push(("403", "Not an administrator"));
            }
            let json_body = operation
                .request_body
                .as_ref()
                .is_some_and(|body| body.content.contains_key("application/json"));
            if json_body {
                common.push(("400", "Malformed JSON"));
                common.push(("413", "The body is over the size limit"));
                common
                    .push(("415", "The body is not JSON (send `Content-Type: application/json`)"));
            }
            for (status, description) in common {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(description).into());
            }
        }
    }
    doc
}
