//! docs/openapi.json is the document the server serves: regenerate it with `make openapi`
//! (`facekiosk openapi > docs/openapi.json`) when an endpoint changes.
#![allow(clippy::unwrap_used, missing_docs)]

#[test]
fn the_checked_in_openapi_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    let want = facekiosk_server::openapi_json().unwrap();
    assert!(
        have.trim_end() == want.trim_end(),
        "docs/openapi.json is stale: run `make openapi`"
    );
    let doc: serde_json::Value = serde_json::from_str(&want).unwrap();
    for (path, method) in [
        ("/v1/token", "post"),
        ("/v1/sessions", "post"),
        ("/v1/sessions", "get"),
        ("/v1/sessions/{id}", "get"),
        ("/v1/sessions/{id}/refresh", "get"),
        ("/v1/sessions/{id}/refresh", "post"),
        ("/v1/sessions/{id}/cancel", "post"),
        ("/v1/identities/{id}/face-auth-status", "get"),
        ("/v1/kiosks", "post"),
        ("/v1/kiosks/register", "post"),
        ("/v1/kiosks/jwks", "get"),
        ("/v1/kiosk/sessions/claim", "post"),
        ("/v1/kiosk/results", "post"),
        ("/v1/kiosk/traces", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
}
