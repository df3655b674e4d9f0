//! The parts of the OpenAPI document that no handler states: the title, the two ways to
//! authenticate, the error shape and the answers every operation may give.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::{Modify, OpenApi as _};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Convene REST API",
        description = "Meetings, rooms, accounts, API keys and access tokens of a Convene server. \
Programs authenticate with an API key (HTTP Basic `id:secret`); browsers with the session cookie \
(state-changing requests must come from the server's own origin). Every error is \
`{\"error\": {\"code\", \"message\"}}`; the codes are listed in docs/protocol.md.",
        license(name = "MIT")
    ),
    components(schemas(super::models::ErrorBody)),
    modifiers(&Credentials)
)]
struct Base;

struct Credentials;

impl Modify for Credentials {
    fn modify(&self, doc: &mut OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        c.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "file_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::token::COOKIE))),
        );
    }
}

pub fn base() -> OpenApi {
    Base::openapi()
}
