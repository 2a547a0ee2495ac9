//! Verifying a result as an integrator does.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::{Jwks, VerifyError};

/// How far in the future a result's `iat` may be, s (clocks of kiosks and servers differ).
pub const MAX_CLOCK_SKEW_S: u64 = 300;

/// A result that verified: its header's key id and its claims.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    /// The key that signed it.
    pub kid: String,
    /// The payload.
    pub claims: serde_json::Value,
}

/// Verifies a result JWS as an integrator would: EdDSA only, a known `kid`, a valid signature,
/// `iss` matching the key, `iat` inside the key's validity window and not in the future,
/// `exp` in the future at `now_s` (unix seconds).
pub fn verify(jws: &str, jwks: &Jwks, now_s: u64) -> Result<Verified, VerifyError> {
    let jws = jws.trim();
    if jws.split('.').count() != 3 {
        return Err(VerifyError::Malformed(
            "expected three dot-separated parts".to_owned(),
        ));
    }
    let header =
        jsonwebtoken::decode_header(jws).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    if header.alg != Algorithm::EdDSA {
        return Err(VerifyError::Algorithm(format!("{:?}", header.alg)));
    }
    let kid = header
        .kid
        .ok_or_else(|| VerifyError::Malformed("the header has no `kid`".to_owned()))?;
    let jwk = jwks
        .key(&kid)
        .ok_or_else(|| VerifyError::UnknownKey(kid.clone()))?;
    if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
        return Err(VerifyError::BadJwks(format!(
            "key `{kid}` is not an Ed25519 key"
        )));
    }
    // jsonwebtoken slices the key to 32 bytes: check the length first so a short key is an
    // error, not a panic.
    match URL_SAFE_NO_PAD.decode(jwk.x.trim_end_matches('=')) {
        Ok(bytes) if bytes.len() == 32 => {}
        _ => {
            return Err(VerifyError::BadJwks(format!(
                "key `{kid}`: `x` is not a 32-byte base64url value"
            )));
        }
    }
    let key =
        DecodingKey::from_ed_components(&jwk.x).map_err(|e| VerifyError::BadJwks(e.to_string()))?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    // Time is checked below against the caller's clock, not the system's.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<serde_json::Value>(jws, &key, &validation).map_err(|e| {
        match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                VerifyError::BadSignature(kid.clone())
            }
            _ => VerifyError::Malformed(e.to_string()),
        }
    })?;
    let claims = data.claims;
    let iss = claims["iss"].as_str().ok_or(VerifyError::Claim("iss"))?;
    if !(kid == iss
        || kid
            .strip_prefix(iss)
            .is_some_and(|rest| rest.starts_with('.')))
    {
        return Err(VerifyError::Issuer {
            iss: iss.to_owned(),
            kid,
        });
    }
    let iat = claims["iat"].as_u64().ok_or(VerifyError::Claim("iat"))?;
    let nbf = jwk.nbf.unwrap_or(0);
    if iat < nbf || jwk.exp.is_some_and(|exp| iat >= exp) {
        return Err(VerifyError::OutsideKeyWindow {
            kid,
            iat,
            nbf,
            exp: jwk.exp,
        });
    }
    if iat > now_s.saturating_add(MAX_CLOCK_SKEW_S) {
        return Err(VerifyError::IssuedInFuture { iat, now: now_s });
    }
    let exp = claims["exp"].as_u64().ok_or(VerifyError::Claim("exp"))?;
    if now_s >= exp {
        return Err(VerifyError::Expired { exp, now: now_s });
    }
    Ok(Verified { kid, claims })
}
