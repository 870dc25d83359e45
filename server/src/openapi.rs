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
#[derive(Debug, ToSchema)]
#[expect(dead_code, reason = "describes the JSON that routes::account::profile writes")]
pub struct Profile {
    id: String,
    email: String,
    name: String,
    avatar_url: Option<String>,
    plan: String,
    role: String,
    /// The balance: the ledger's sum.
    credits: i64,
}

/// A multipart upload: one image in the field `file`.
#[derive(Debug, ToSchema)]
#[expect(dead_code, reason = "describes the multipart form")]
pub struct UploadForm {
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
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
    components(schemas(ErrorBody, ErrorDetail, Profile, UploadForm, lithos_engine::JobRequest, lithos_engine::JobMode, crate::tasks::status::TaskStatus)),
    modifiers(&Security),
)]
pub struct ApiDoc;
