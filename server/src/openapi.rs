//! The OpenAPI document, generated from the handlers' annotations, and the types it names.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::routes;

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
    paths(
        routes::auth::register, routes::auth::login, routes::auth::logout,
        routes::account::me, routes::account::update, routes::account::change_password,
        routes::api_keys::create, routes::api_keys::list, routes::api_keys::revoke,
        routes::uploads::create, routes::uploads::get, routes::uploads::presign, routes::uploads::complete,
        routes::tasks::create, routes::tasks::list, routes::tasks::get, routes::tasks::cancel,
        routes::tasks::output, routes::tasks::events,
        routes::tasks::quote, routes::credits::get, routes::admin::users, routes::admin::usage, routes::admin::workers, routes::admin::usage_daily, routes::admin::audit_log, routes::admin::overview::overview, routes::admin::jobs::list, routes::admin::jobs::get, routes::admin::jobs::output, routes::admin::jobs::retry, routes::admin::jobs::cancel, routes::admin::jobs::delete, routes::admin::users::get, routes::admin::users::adjust_credits, routes::admin::users::disable,
        routes::health::healthz, routes::health::readyz,
    ),
    components(schemas(ErrorBody, ErrorDetail, Profile, UploadForm, crate::task_params::TaskParams, crate::task_params::TaskMode, routes::tasks::Quote, routes::admin::users::Adjust, routes::admin::users::Disable)),
    modifiers(&Security),
)]
pub struct ApiDoc;
