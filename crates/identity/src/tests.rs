//! Unit tests of keys, signing, verification and the key store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

use crate::store::STORE_FILE;
use crate::*;
use serde_json::json;

fn claims(iss: &str, exp: u64) -> serde_json::Value {
    json!({ "iss": iss, "sub": "s1", "iat": 1000, "exp": exp, "isVerified": true })
}

#[test]
fn a_signed_result_verifies_and_an_altered_one_does_not() {
    let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
    let jws = id.signer().sign(&claims("kiosk-test", 2000)).unwrap();
    let ok = verify(&jws, &id.jwks(), 1500).unwrap();
    assert_eq!(ok.kid, "kiosk-test");
    assert_eq!(ok.claims["sub"], "s1");

    // Change one byte of the payload, of the signature, of the header.
    let bytes = jws.as_bytes();
    let dots: Vec<usize> = jws.match_indices('.').map(|(i, _)| i).collect();
    for at in [dots[0] + 5, dots[1] + 5, 5] {
        let mut altered = bytes.to_vec();
        altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(
            verify(&altered, &id.jwks(), 1500).is_err(),
            "altered at {at}"
        );
    }
}

#[test]
fn expiry_issuer_and_unknown_keys() {
    let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
    let jws = id.signer().sign(&claims("kiosk-test", 2000)).unwrap();
    assert_eq!(
        verify(&jws, &id.jwks(), 2000),
        Err(VerifyError::Expired {
            exp: 2000,
            now: 2000
        })
    );
    let other = KioskIdentity::from_seed("kiosk-other", [8; 32], 0);
    assert_eq!(
        verify(&jws, &other.jwks(), 1500),
        Err(VerifyError::UnknownKey("kiosk-test".into()))
    );
    // A key with the right kid but another public key.
    let mut forged = other.jwks();
    forged.keys[0].kid = "kiosk-test".into();
    assert_eq!(
        verify(&jws, &forged, 1500),
        Err(VerifyError::BadSignature("kiosk-test".into()))
    );
    let wrong_iss = id.signer().sign(&claims("kiosk-else", 2000)).unwrap();
    assert!(matches!(
        verify(&wrong_iss, &id.jwks(), 1500),
        Err(VerifyError::Issuer { .. })
    ));
}

#[test]
fn rotation_keeps_old_results_verifiable() {
    let mut id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
    // Signed at 1000 (the claims' iat), before the rotation at 1500.
    let old = id.signer().sign(&claims("kiosk-test", 9000)).unwrap();
    id.rotate(1500).unwrap();
    assert_eq!(id.current().kid(), "kiosk-test.2");
    let new = id
        .signer()
        .sign(&serde_json::json!({ "iss": "kiosk-test", "iat": 1600, "exp": 9000 }))
        .unwrap();
    let jwks = id.jwks();
    assert_eq!(verify(&old, &jwks, 2000).unwrap().kid, "kiosk-test");
    assert_eq!(verify(&new, &jwks, 2000).unwrap().kid, "kiosk-test.2");
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
    for bad in [
        "",
        "a.b",
        "a.b.c",
        "....",
        "eyJhbGciOiJFZERTQSJ9.e30.",
        "🙂.🙂.🙂",
    ] {
        assert!(verify(bad, &id.jwks(), 0).is_err(), "{bad}");
    }
    let jws = id.signer().sign(&claims("kiosk-test", 2000)).unwrap();
    let mut short = id.jwks();
    short.keys[0].x = "AAAA".into();
    assert!(matches!(
        verify(&jws, &short, 0),
        Err(VerifyError::BadJwks(_))
    ));
    assert!(Jwks::parse("{\"keys\": 5}").is_err());
}

#[test]
fn debug_never_shows_a_private_key() {
    let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
    let text = format!("{id:?} {:?}", id.signer());
    let private = URL_SAFE_NO_PAD.encode([7u8; 32]);
    assert!(
        !text.contains(&private) && !text.contains("[7, 7"),
        "{text}"
    );
}

#[test]
fn the_store_round_trips_with_private_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path().join("identity"));
    let (id, created) = store.load_or_create(1000).unwrap();
    assert!(created);
    let (again, created) = store.load_or_create(2000).unwrap();
    assert!(!created);
    assert_eq!(again.kiosk_id(), id.kiosk_id());
    assert_eq!(again.current().public_x(), id.current().public_x());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&store.dir().join("key-1.pem")), 0o600);
        assert_eq!(mode(&store.dir().join(STORE_FILE)), 0o600);
        assert_eq!(mode(store.dir()), 0o700);
        // A key others can read is refused.
        std::fs::set_permissions(
            store.dir().join("key-1.pem"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}

#[test]
fn a_stale_key_file_is_never_paired_with_a_new_identity() {
    // Review finding: a crash after writing key-1.pem but before identity.toml used to leave
    // the old key on disk while the new identity signed with another one.
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path());
    let stale = KioskIdentity::from_seed("kiosk-stale", [3; 32], 0);
    store.save(&stale).unwrap();
    std::fs::remove_file(dir.path().join(STORE_FILE)).unwrap();
    let (fresh, created) = store.load_or_create(10).unwrap();
    assert!(created);
    let back = store.load().unwrap();
    assert_eq!(back.current().public_x(), fresh.current().public_x());
    assert_ne!(back.current().public_x(), stale.current().public_x());
}

#[test]
fn rotation_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path());
    let (mut id, _) = store.load_or_create(1000).unwrap();
    id.rotate(2000).unwrap();
    store.save(&id).unwrap();
    let back = store.load().unwrap();
    assert_eq!(back.keys().len(), 2);
    assert_eq!(back.keys()[0].retired_at(), Some(2000));
    assert_eq!(back.current().kid(), format!("{}.2", id.kiosk_id()));
}

#[test]
fn a_retired_key_cannot_sign_after_its_retirement() {
    // Review finding: a leaked retired key used to forge results dated any time.
    let mut id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
    let old_signer = id.signer();
    id.rotate(10_000).unwrap();
    let jwks = id.jwks();
    let window = jwks.keys[0].exp.unwrap();
    assert_eq!(window, 10_000 + ROTATION_GRACE_S);
    let claims_at = |iat: u64| json!({ "iss": "kiosk-test", "iat": iat, "exp": 90_000 });
    // Dated before the retirement (or within the grace): verifies.
    let before = old_signer.sign(&claims_at(9_000)).unwrap();
    assert!(verify(&before, &jwks, 20_000).is_ok());
    // Dated after the window: refused.
    let after = old_signer.sign(&claims_at(window)).unwrap();
    assert!(matches!(
        verify(&after, &jwks, 20_000),
        Err(VerifyError::OutsideKeyWindow { .. })
    ));
    // The new key does not cover the time before it existed.
    let early = id.signer().sign(&claims_at(9_999)).unwrap();
    assert!(matches!(
        verify(&early, &jwks, 20_000),
        Err(VerifyError::OutsideKeyWindow { .. })
    ));
}

#[test]
fn a_result_from_the_future_is_refused() {
    let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
    let jws = id
        .signer()
        .sign(&json!({ "iss": "kiosk-test", "iat": 5_000, "exp": 90_000 }))
        .unwrap();
    assert!(verify(&jws, &id.jwks(), 5_000 - MAX_CLOCK_SKEW_S).is_ok());
    assert_eq!(
        verify(&jws, &id.jwks(), 1_000),
        Err(VerifyError::IssuedInFuture {
            iat: 5_000,
            now: 1_000
        })
    );
    let no_iat = id
        .signer()
        .sign(&json!({ "iss": "kiosk-test", "exp": 90_000 }))
        .unwrap();
    assert_eq!(
        verify(&no_iat, &id.jwks(), 1_000),
        Err(VerifyError::Claim("iat"))
    );
}

#[test]
fn test_keys_are_separate_from_the_kiosks_keys() {
    let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
    let test = TestKey::generate(&id, 1_000, 3_600).unwrap();
    assert!(test.signer().is_test());
    assert!(!id.signer().is_test());
    assert!(
        test.jwk().kid.starts_with("kiosk-test.test-"),
        "{}",
        test.jwk().kid
    );
    let jws = test
        .signer()
        .sign(&json!({ "iss": "kiosk-test", "iat": 1_500, "exp": 90_000, "test": true }))
        .unwrap();
    // Not with the kiosk's JWKS …
    assert!(matches!(
        verify(&jws, &id.jwks(), 2_000),
        Err(VerifyError::UnknownKey(_))
    ));
    // … but with the test JWKS file.
    let dir = tempfile::tempdir().unwrap();
    let file = TestJwksFile::new(dir.path().join(TEST_JWKS_FILE));
    file.add(test.jwk()).unwrap();
    let other = TestKey::generate(&id, 1_000, 3_600).unwrap();
    file.add(other.jwk()).unwrap();
    let jwks = Jwks::parse(&std::fs::read_to_string(file.path()).unwrap()).unwrap();
    assert_eq!(jwks.keys.len(), 2);
    assert_eq!(verify(&jws, &jwks, 2_000).unwrap().kid, test.jwk().kid);
    // Outside its hour, the test key vouches for nothing.
    let late = test
        .signer()
        .sign(&json!({ "iss": "kiosk-test", "iat": 4_700, "exp": 90_000 }))
        .unwrap();
    assert!(matches!(
        verify(&late, &jwks, 5_000),
        Err(VerifyError::OutsideKeyWindow { .. })
    ));
}

#[test]
fn a_test_jwks_file_that_is_not_a_jwks_is_kept_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(TEST_JWKS_FILE);
    std::fs::write(&path, "not json").unwrap();
    let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
    let key = TestKey::generate(&id, 0, 60).unwrap();
    let err = TestJwksFile::new(&path).add(key.jwk()).unwrap_err();
    assert!(err.to_string().contains(TEST_JWKS_FILE), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not json");
}

proptest! {
    /// Whatever string arrives as a result, verification answers with an error or a result,
    /// never a panic.
    #[test]
    fn any_string_is_verified_without_panicking(s in "\\PC{0,300}") {
        let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
        let _ = verify(&s, &id.jwks(), 1_000);
    }

    /// Three base64url-ish parts, the shape of a JWS: still no panic.
    #[test]
    fn any_three_part_token_is_verified_without_panicking(
        a in "[A-Za-z0-9_=-]{0,80}", b in "[A-Za-z0-9_=-]{0,200}", c in "[A-Za-z0-9_=-]{0,100}"
    ) {
        let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
        let _ = verify(&format!("{a}.{b}.{c}"), &id.jwks(), 1_000);
    }

    /// A real result with any single byte changed never verifies.
    #[test]
    fn any_altered_byte_breaks_the_result(at in 0usize..400, byte in 0u8..128) {
        let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
        let jws = id.signer().sign(&json!({ "iss": "kiosk-test", "iat": 500, "exp": 9_000, "isVerified": true })).unwrap();
        let mut bytes = jws.clone().into_bytes();
        let at = at % bytes.len();
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        if let Ok(altered) = String::from_utf8(bytes) {
            // An edit that leaves the same base64 value (padding bits) is the same result.
            if let Ok(v) = verify(&altered, &id.jwks(), 1_000) {
                prop_assert_eq!(v.claims, verify(&jws, &id.jwks(), 1_000).unwrap().claims);
            }
        }
    }

    /// Any JWKS text parses or fails cleanly.
    #[test]
    fn any_jwks_text_parses_or_fails_cleanly(s in "\\PC{0,200}") {
        let _ = Jwks::parse(&s);
    }
}
