//! The API's integration tests, run against SQLite (`tests/sqlite.rs`) and PostgreSQL
//! (`tests/postgres.rs`) alike.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde_json::{Value, json};

use crate::common::{Backend, NowS, Outcome, TestServer, code, data, sha256_hex};

/// Create → claim → result → complete, the duplicate post, the identity it leaves, a face
/// authentication session from it, and the identity's deletion.
pub async fn full_lifecycle(b: Backend) {
    let s = TestServer::start(b).await;
    let (id, secret, created) = s
        .session(
            &s.live_key,
            &[
                ("clientReferenceId", "customer-42"),
                (
                    "metadata",
                    r#"{"branch":"Zürich Bahnhofstrasse","نام":"مریم"}"#,
                ),
                ("maxAttempts", "2"),
                ("nonce", "n-123"),
                ("langs", r#"["en","ar"]"#),
            ],
        )
        .await;
    assert!(id.starts_with("ses_"));
    assert!(secret.starts_with("fkcs_"));
    assert_eq!(created["session"]["status"], "requiresInput");
    assert_eq!(created["session"]["settings"]["maxAttempts"], 2);
    assert_eq!(created["session"]["metadata"]["نام"], "مریم");
    let expire_at = created["clientSecret"]["expireAt"].as_u64().unwrap();
    assert_eq!(
        expire_at,
        s.clock.now_s_value() + 1800,
        "a secret never outlives its session"
    );
    assert!(
        created["clientSecret"]["url"]
            .as_str()
            .unwrap()
            .contains(&id)
    );

    let kiosk = s.kiosk("kiosk-a", 1).await;
    let (st, claimed) = s
        .claim(&kiosk, &json!({ "sessionId": id, "clientSecret": secret }))
        .await;
    assert_eq!(st, 200, "{claimed}");
    let photo = data("astronaut.jpg");
    let sha = sha256_hex(&photo);
    assert_eq!(claimed["referenceImage"]["sha256"], sha);
    assert_eq!(claimed["referenceImage"]["contentType"], "image/jpeg");
    assert_eq!(claimed["settings"]["nonce"], "n-123");
    let (_, got) = s.get(&s.live_key, &format!("/v1/sessions/{id}")).await;
    assert_eq!(got["session"]["status"], "processing");
    assert_eq!(got["session"]["kioskId"], "kiosk-a");

    let jws = kiosk.sign(
        &s.clock,
        &Outcome {
            session_id: &id,
            jti: "0b6f3c1e-5d1a-4c8e-9a57-0d9d3c1b2a01",
            verified: true,
            test: false,
            walk_in: false,
            reference_sha256: &sha,
            nonce: Some("n-123"),
        },
    );
    let (st, accepted) = s.post_result(&kiosk, &jws).await;
    assert_eq!(st, 200, "{accepted}");
    assert_eq!(accepted["duplicate"], false);
    assert_eq!(accepted["session"]["status"], "complete");
    // The same result again: the same answer, nothing changed.
    let (st, again) = s.post_result(&kiosk, &jws).await;
    assert_eq!(st, 200, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["session"], accepted["session"]);

    let (_, got) = s.get(&s.live_key, &format!("/v1/sessions/{id}")).await;
    let report = &got["session"]["report"];
    assert_eq!(report["isVerified"], true);
    assert_eq!(report["livenessDetected"], true);
    assert_eq!(report["match"]["level"], 4);
    assert_eq!(report["result"], jws.as_str());
    assert_eq!(got["session"]["status"], "complete");
    // At rest the result (which may carry the audit image) is sealed, and the ID photo is gone
    // from the session (it lives on, sealed, as the identity's reference).
    {
        use sqlx::Row as _;
        let row = sqlx::query("SELECT result_jws, report, photo FROM sessions WHERE id = $1")
            .bind(&id)
            .fetch_one(s.db.pool())
            .await
            .unwrap();
        let payload = jws.split('.').nth(1).unwrap();
        let stored: String = row.try_get("result_jws").unwrap();
        let stored_report: String = row.try_get("report").unwrap();
        assert!(!stored.contains(&payload[..40]) && !stored_report.contains(&payload[..40]));
        assert!(
            row.try_get::<Option<Vec<u8>>, _>("photo")
                .unwrap()
                .is_none()
        );
        let photo_row = sqlx::query("SELECT photo FROM identities WHERE id = $1")
            .bind(&id)
            .fetch_one(s.db.pool())
            .await
            .unwrap();
        let sealed: Vec<u8> = photo_row.try_get("photo").unwrap();
        assert!(
            !sealed.windows(64).any(|w| w == &photo[1000..1064]),
            "the photo is encrypted"
        );
    }
    // The old secret claims nothing any more.
    let (st, body) = s
        .claim(&kiosk, &json!({ "sessionId": id, "clientSecret": secret }))
        .await;
    assert_eq!((st, code(&body)), (409, "SESSION_ENDED"));

    // The verified session is an identity: face authentication from it.
    let (st, body) = s
        .get(
            &s.live_key,
            &format!("/v1/identities/{id}/face-auth-status"),
        )
        .await;
    assert_eq!((st, body["type"].as_str()), (200, Some("AUTHENTICATION")));
    let (st, auth) = s
        .post_json(&s.live_key, "/v1/sessions", &json!({ "identityId": id }))
        .await;
    assert_eq!(st, 201, "{auth}");
    assert_eq!(auth["session"]["identityId"], id.as_str());
    let auth_id = auth["session"]["id"].as_str().unwrap();
    let (st, claimed) = s
        .claim(
            &kiosk,
            &json!({ "sessionId": auth_id, "clientSecret": auth["clientSecret"]["secret"] }),
        )
        .await;
    assert_eq!(st, 200, "{claimed}");
    assert_eq!(claimed["referenceImage"]["sha256"], sha);
    // A year later the identity must identify again.
    s.clock.advance(366 * 24 * 3600 * 1000);
    let (st, body) = s
        .get(
            &s.live_key,
            &format!("/v1/identities/{id}/face-auth-status"),
        )
        .await;
    assert_eq!((st, body["type"].as_str()), (200, Some("IDENTIFICATION")));
    let (st, body) = s
        .post_json(&s.live_key, "/v1/sessions", &json!({ "identityId": id }))
        .await;
    assert_eq!((st, code(&body)), (422, "IDENTITY_NEEDS_IDENTIFICATION"));
    // Test keys do not see live identities.
    let (st, body) = s
        .get(
            &s.test_key,
            &format!("/v1/identities/{id}/face-auth-status"),
        )
        .await;
    assert_eq!((st, code(&body)), (404, "IDENTITY_NOT_FOUND"));
    let (st, _) = s
        .send(
            s.http
                .delete(s.u(&format!("/v1/identities/{id}")))
                .bearer_auth(&s.live_key),
        )
        .await;
    assert_eq!(st, 204);
    let (st, body) = s
        .get(
            &s.live_key,
            &format!("/v1/identities/{id}/face-auth-status"),
        )
        .await;
    assert_eq!((st, code(&body)), (404, "IDENTITY_NOT_FOUND"));
    let (st, body) = s
        .post_json(&s.live_key, "/v1/sessions", &json!({ "identityId": id }))
        .await;
    assert_eq!((st, code(&body)), (404, "IDENTITY_NOT_FOUND"));
    s.stop().await;
}

/// A refresh replaces the secret: the old one stops working at once.
pub async fn refresh_invalidates_the_old_secret(b: Backend) {
    let s = TestServer::start(b).await;
    let (id, old, _) = s.session(&s.live_key, &[]).await;
    let (st, fresh) = s
        .get(&s.live_key, &format!("/v1/sessions/{id}/refresh"))
        .await;
    assert_eq!(st, 200, "{fresh}");
    let new = fresh["clientSecret"]["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let (st, post) = s
        .post_json(
            &s.live_key,
            &format!("/v1/sessions/{id}/refresh"),
            &json!({}),
        )
        .await;
    assert_eq!(st, 200, "{post}");
    let newest = post["clientSecret"]["secret"].as_str().unwrap().to_owned();
    let kiosk = s.kiosk("kiosk-r", 2).await;
    for stale in [&old, &new] {
        let (st, body) = s
            .claim(&kiosk, &json!({ "sessionId": id, "clientSecret": stale }))
            .await;
        assert_eq!((st, code(&body)), (401, "INVALID_CLIENT_SECRET"));
    }
    let (st, body) = s
        .claim(&kiosk, &json!({ "sessionId": id, "clientSecret": newest }))
        .await;
    assert_eq!(st, 200, "{body}");
    // Another kiosk cannot take it over, even with the secret.
    let other = s.kiosk("kiosk-r2", 3).await;
    let (st, body) = s
        .claim(&other, &json!({ "sessionId": id, "clientSecret": newest }))
        .await;
    assert_eq!((st, code(&body)), (409, "SESSION_ALREADY_CLAIMED"));
    // The same kiosk may claim again (a restart).
    let (st, _) = s
        .claim(&kiosk, &json!({ "sessionId": id, "clientSecret": newest }))
        .await;
    assert_eq!(st, 200);
    s.stop().await;
}

/// Sessions and secrets expire by the clock; expired sessions are canceled and their photo
/// deleted.
pub async fn expiry(b: Backend) {
    let s = TestServer::start(b).await;
    let kiosk = s.kiosk("kiosk-e", 4).await;
    let (short, secret, _) = s.session(&s.live_key, &[("lifetime", "60")]).await;
    let (long, long_secret, _) = s.session(&s.live_key, &[("lifetime", "7200")]).await;
    s.clock.advance(61_000);
    let (st, body) = s
        .claim(
            &kiosk,
            &json!({ "sessionId": short, "clientSecret": secret }),
        )
        .await;
    assert_eq!(
        (st, code(&body)),
        (404, "SESSION_EXPIRED_OR_NOT_FOUND"),
        "{body}"
    );
    let (_, got) = s.get(&s.live_key, &format!("/v1/sessions/{short}")).await;
    assert_eq!(got["session"]["status"], "canceled");
    assert_eq!(got["session"]["cancelReason"], "expired");
    let row = sqlx::query("SELECT photo FROM sessions WHERE id = $1")
        .bind(&short)
        .fetch_one(s.db.pool())
        .await
        .unwrap();
    use sqlx::Row as _;
    assert!(
        row.try_get::<Option<Vec<u8>>, _>("photo")
            .unwrap()
            .is_none(),
        "the photo is deleted"
    );
    // The secret of a longer session expires after an hour.
    s.clock.advance(3_600_000);
    let (st, body) = s
        .claim(
            &kiosk,
            &json!({ "sessionId": long, "clientSecret": long_secret }),
        )
        .await;
    assert_eq!((st, code(&body)), (401, "CLIENT_SECRET_EXPIRED"));
    // The sweep cancels what nobody asked about.
    let (third, _, _) = s.session(&s.live_key, &[("lifetime", "60")]).await;
    s.clock.advance(120_000);
    let report = facekiosk_server::sweep::sweep(s.server.as_ref().unwrap().state())
        .await
        .unwrap();
    assert!(report.expired >= 1);
    let (_, got) = s.get(&s.live_key, &format!("/v1/sessions/{third}")).await;
    assert_eq!(got["session"]["status"], "canceled");
    s.stop().await;
}

/// A digit code claims once; guessing is limited per kiosk.
pub async fn digit_code_claim(b: Backend) {
    let s = TestServer::start(b).await;
    let (id, _, created) = s
        .session(&s.live_key, &[("generateDigitString", "true")])
        .await;
    let digits = created["digitString"].as_str().unwrap().to_owned();
    assert_eq!(digits.len(), 6);
    let kiosk = s.kiosk("kiosk-d", 5).await;
    let (st, claimed) = s.claim(&kiosk, &json!({ "digitString": digits })).await;
    assert_eq!(st, 200, "{claimed}");
    assert_eq!(claimed["sessionId"], id.as_str());
    let (st, body) = s.claim(&kiosk, &json!({ "digitString": digits })).await;
    assert_eq!(
        (st, code(&body)),
        (404, "INVALID_DIGIT_STRING"),
        "single use"
    );
    // Another tenant's kiosk never finds this tenant's codes; wrong guesses are limited.
    let guesser = s.kiosk("kiosk-g", 6).await;
    let mut last = (0, Value::Null);
    for i in 0..6 {
        last = s
            .claim(
                &guesser,
                &json!({ "digitString": format!("{:06}", 100_000 + i) }),
            )
            .await;
    }
    assert_eq!((last.0, code(&last.1)), (429, "RATE_LIMITED"), "{}", last.1);
    // The window passes.
    s.clock.advance(901_000);
    let (st, body) = s.claim(&guesser, &json!({ "digitString": "000000" })).await;
    assert_eq!((st, code(&body)), (404, "INVALID_DIGIT_STRING"));
    let (st, body) = s.claim(&guesser, &json!({ "digitString": "12ab" })).await;
    assert_eq!((st, code(&body)), (404, "INVALID_DIGIT_STRING"));
    let (st, body) = s
        .claim(
            &guesser,
            &json!({ "digitString": "123456", "sessionId": id }),
        )
        .await;
    assert_eq!((st, code(&body)), (400, "INVALID_REQUEST"));
    s.stop().await;
}

/// Staff at a kiosk pick the customer's session from the tenant's waiting list (no photo, code
/// or secret in it) and claim it in their name; claimed, it leaves the list. Another tenant's
/// sessions are never listed or claimable; a staff claim without a staff member is refused.
pub async fn staff_pick_from_waiting_list(b: Backend) {
    let s = TestServer::start(b).await;
    let (first, _, _) = s
        .session(&s.live_key, &[("clientReferenceId", "loan-4471")])
        .await;
    s.clock.advance(1000);
    let (second, _, _) = s.session(&s.live_key, &[]).await;
    let (foreign, _, _) = s.session(&s.other_tenant_key, &[]).await;
    let kiosk = s.kiosk("kiosk-s", 12).await;
    let other = s.kiosk("kiosk-t", 13).await;
    let (st, list) = s.get(&kiosk.credential, "/v1/kiosk/sessions/waiting").await;
    assert_eq!(st, 200, "{list}");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["sessionId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [second.as_str(), first.as_str()],
        "newest first: {list}"
    );
    assert_eq!(list["data"][1]["clientReferenceId"], "loan-4471");
    let listed = list.to_string();
    for secret in ["referenceImage", "digitString", "clientSecret", "photo"] {
        assert!(!listed.contains(secret), "{listed}");
    }
    // Integrators' keys are not kiosks.
    let (st, _) = s.get(&s.live_key, "/v1/kiosk/sessions/waiting").await;
    assert_eq!(st, 401);

    let (st, claimed) = s
        .claim(
            &kiosk,
            &json!({ "sessionId": first, "staffOperator": "Amal" }),
        )
        .await;
    assert_eq!(st, 200, "{claimed}");
    assert_eq!(claimed["sessionId"], first.as_str());
    assert!(claimed["referenceImage"]["data"].as_str().unwrap().len() > 100);
    let (_, list) = s.get(&kiosk.credential, "/v1/kiosk/sessions/waiting").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    // Claimed: another kiosk's staff cannot take it; nor anyone a foreign session.
    let (st, body) = s
        .claim(
            &other,
            &json!({ "sessionId": first, "staffOperator": "Bruno" }),
        )
        .await;
    assert_eq!(
        (st, code(&body)),
        (409, "SESSION_ALREADY_CLAIMED"),
        "{body}"
    );
    let (st, body) = s
        .claim(
            &kiosk,
            &json!({ "sessionId": foreign, "staffOperator": "Amal" }),
        )
        .await;
    assert_eq!(
        (st, code(&body)),
        (404, "SESSION_EXPIRED_OR_NOT_FOUND"),
        "{body}"
    );
    for bad in [
        json!({ "sessionId": second }),
        json!({ "sessionId": second, "staffOperator": "  " }),
        json!({ "sessionId": second, "staffOperator": "x".repeat(65) }),
        json!({ "digitString": "123456", "staffOperator": "Amal" }),
    ] {
        let (st, body) = s.claim(&kiosk, &bad).await;
        assert_eq!((st, code(&body)), (400, "INVALID_REQUEST"), "{bad}: {body}");
    }
    // Expired sessions are not listed.
    s.clock.advance(3_600_000 * 25);
    let (_, list) = s.get(&kiosk.credential, "/v1/kiosk/sessions/waiting").await;
    assert_eq!(list["data"], json!([]), "{list}");
    s.stop().await;
}

/// Forged, altered, replayed and mismatched results are refused; nothing they claim is stored.
pub async fn bad_results_are_refused(b: Backend) {
    let s = TestServer::start(b).await;
    let kiosk = s.kiosk("kiosk-b", 7).await;
    let other = s.kiosk("kiosk-c", 8).await;
    let sha = sha256_hex(&data("astronaut.jpg"));
    let (id, secret, _) = s.session(&s.live_key, &[]).await;
    let (id2, _, _) = s.session(&s.live_key, &[]).await;
    let (st, _) = s
        .claim(&kiosk, &json!({ "sessionId": id, "clientSecret": secret }))
        .await;
    assert_eq!(st, 200);
    fn good<'a>(session: &'a str, jti: &'a str, sha: &'a str) -> Outcome<'a> {
        Outcome {
            session_id: session,
            jti,
            verified: true,
            test: false,
            walk_in: false,
            reference_sha256: sha,
            nonce: None,
        }
    }
    let id_s = id.clone();
    // Forged: signed by a key the server does not know for this kiosk.
    let forged = facekiosk_identity::KioskIdentity::from_seed("kiosk-b", [99; 32], 0)
        .signer()
        .sign(&kiosk.claims(
            &s.clock,
            &good(&id_s, "f0000000-0000-4000-8000-000000000001", &sha),
        ))
        .unwrap();
    let (st, body) = s.post_result(&kiosk, &forged).await;
    assert_eq!((st, code(&body)), (401, "INVALID_SIGNATURE"), "{body}");
    // Altered: a valid result with its payload edited.
    let jws = kiosk.sign(
        &s.clock,
        &good(&id_s, "f0000000-0000-4000-8000-000000000002", &sha),
    );
    let parts: Vec<&str> = jws.split('.').collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["isVerified"] = json!(false);
    let altered = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    );
    let (st, body) = s.post_result(&kiosk, &altered).await;
    assert_eq!((st, code(&body)), (401, "INVALID_SIGNATURE"));
    // Another kiosk posting it: its key is not that kiosk's.
    let (st, body) = s.post_result(&other, &jws).await;
    assert_eq!((st, code(&body)), (401, "UNKNOWN_KEY"), "{body}");
    // Malformed.
    for bad in ["", "a.b", "not a jws at all", "a.b.c"] {
        let (st, body) = s.post_result(&kiosk, bad).await;
        assert_eq!(
            (st, code(&body)),
            (422, "MALFORMED_RESULT"),
            "{bad}: {body}"
        );
    }
    // A session this kiosk did not claim.
    let unclaimed = kiosk.sign(
        &s.clock,
        &good(&id2, "f0000000-0000-4000-8000-000000000003", &sha),
    );
    let (st, body) = s.post_result(&kiosk, &unclaimed).await;
    assert_eq!((st, code(&body)), (403, "SESSION_NOT_CLAIMED"));
    // A test result for a live session.
    let mut test_outcome = good(&id_s, "f0000000-0000-4000-8000-000000000004", &sha);
    test_outcome.test = true;
    let (st, body) = s
        .post_result(&kiosk, &kiosk.sign(&s.clock, &test_outcome))
        .await;
    assert_eq!((st, code(&body)), (403, "TEST_MODE_MISMATCH"));
    // A test key claiming a live result.
    let lying = kiosk
        .test
        .sign(&kiosk.claims(
            &s.clock,
            &good(&id_s, "f0000000-0000-4000-8000-000000000005", &sha),
        ))
        .unwrap();
    let (st, body) = s.post_result(&kiosk, &lying).await;
    assert_eq!((st, code(&body)), (403, "TEST_MODE_MISMATCH"));
    // Matched against another photo.
    let mut other_photo = good(&id_s, "f0000000-0000-4000-8000-000000000006", &sha);
    let wrong_sha = sha256_hex(b"another photo");
    other_photo.reference_sha256 = &wrong_sha;
    let (st, body) = s
        .post_result(&kiosk, &kiosk.sign(&s.clock, &other_photo))
        .await;
    assert_eq!((st, code(&body)), (422, "RESULT_MISMATCH"));
    // Not a walk-in and no such session.
    let ghost = kiosk.sign(
        &s.clock,
        &good("ses_nope", "f0000000-0000-4000-8000-000000000007", &sha),
    );
    let (st, body) = s.post_result(&kiosk, &ghost).await;
    assert_eq!((st, code(&body)), (404, "SESSION_EXPIRED_OR_NOT_FOUND"));
    // Still processing after all that.
    let (_, got) = s.get(&s.live_key, &format!("/v1/sessions/{id}")).await;
    assert_eq!(got["session"]["status"], "processing");
    // The good one, then a different result for the finished session.
    let (st, body) = s.post_result(&kiosk, &jws).await;
    assert_eq!(st, 200, "{body}");
    let second = kiosk.sign(
        &s.clock,
        &good(&id_s, "f0000000-0000-4000-8000-000000000008", &sha),
    );
    let (st, body) = s.post_result(&kiosk, &second).await;
    assert_eq!((st, code(&body)), (409, "RESULT_CONFLICT"));
    // The same jti with another payload.
    let mut same_jti = good(&id2, "f0000000-0000-4000-8000-000000000002", &sha);
    same_jti.verified = false;
    let (st, body) = s
        .post_result(&kiosk, &kiosk.sign(&s.clock, &same_jti))
        .await;
    assert_eq!((st, code(&body)), (409, "RESULT_CONFLICT"));
    // An expired result.
    s.clock.advance(31 * 24 * 3600 * 1000);
    let (st, body) = s.post_result(&kiosk, &jws).await;
    assert_eq!((st, code(&body)), (422, "RESULT_EXPIRED"));
    // A result needs a kiosk credential.
    let (st, body) = s
        .send(
            s.http
                .post(s.u("/v1/kiosk/results"))
                .bearer_auth(&s.live_key)
                .body(jws.clone()),
        )
        .await;
    assert_eq!((st, code(&body)), (401, "UNAUTHORIZED"));
    s.stop().await;
}

/// Walk-in results create their session; test walk-ins stay with test keys.
pub async fn walk_ins(b: Backend) {
    let s = TestServer::start(b).await;
    let kiosk = s.kiosk("kiosk-w", 9).await;
    let sha = sha256_hex(b"a photo staff took");
    for (sid, jti, test) in [
        ("walkin-1", "a0000000-0000-4000-8000-000000000001", false),
        ("walkin-2", "a0000000-0000-4000-8000-000000000002", true),
    ] {
        let jws = kiosk.sign(
            &s.clock,
            &Outcome {
                session_id: sid,
                jti,
                verified: true,
                test,
                walk_in: true,
                reference_sha256: &sha,
                nonce: None,
            },
        );
        let (st, body) = s.post_result(&kiosk, &jws).await;
        assert_eq!(st, 200, "{body}");
        assert_eq!(body["session"]["walkIn"], true);
        assert_eq!(body["session"]["status"], "complete");
        let (st, body) = s.post_result(&kiosk, &jws).await;
        assert_eq!((st, body["duplicate"].as_bool()), (200, Some(true)));
    }
    let (_, live) = s.get(&s.live_key, "/v1/sessions").await;
    let ids: Vec<&str> = live["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["walkin-1"]);
    let (_, test) = s.get(&s.test_key, "/v1/sessions").await;
    let ids: Vec<&str> = test["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["walkin-2"]);
    let (st, _) = s.get(&s.live_key, "/v1/sessions/walkin-1").await;
    assert_eq!(st, 200);
    let (st, body) = s.get(&s.other_tenant_key, "/v1/sessions/walkin-1").await;
    assert_eq!((st, code(&body)), (404, "SESSION_NOT_FOUND"));
    // A walk-in's id cannot be reused for another result.
    let again = kiosk.sign(
        &s.clock,
        &Outcome {
            session_id: "walkin-1",
            jti: "a0000000-0000-4000-8000-000000000003",
            verified: false,
            test: false,
            walk_in: true,
            reference_sha256: &sha,
            nonce: None,
        },
    );
    let (st, body) = s.post_result(&kiosk, &again).await;
    assert_eq!((st, code(&body)), (409, "RESULT_CONFLICT"));
    s.stop().await;
}

/// Cursor pagination, filters, and the separation of tenants and modes.
pub async fn pagination(b: Backend) {
    let s = TestServer::start(b).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = format!("ref-{}", i % 2);
        let (id, _, _) = s.session(&s.live_key, &[("clientReferenceId", &r)]).await;
        ids.push(id);
        s.clock.advance(1000);
    }
    let (test_id, _, _) = s.session(&s.test_key, &[]).await;
    ids.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/sessions?limit=2&startingAfter={c}"),
            None => "/v1/sessions?limit=2".to_owned(),
        };
        let (st, page) = s.get(&s.live_key, &path).await;
        assert_eq!(st, 200, "{page}");
        let data = page["data"].as_array().unwrap();
        for d in data {
            seen.push(d["id"].as_str().unwrap().to_owned());
        }
        if !page["hasMore"].as_bool().unwrap() {
            break;
        }
        cursor = seen.last().cloned();
        assert!(seen.len() < 10, "pagination does not end");
    }
    assert_eq!(seen, ids, "newest first, each once");
    assert!(!seen.contains(&test_id));
    let (_, page) = s
        .get(&s.live_key, "/v1/sessions?clientReferenceId=ref-0")
        .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    let (_, page) = s
        .get(&s.live_key, "/v1/sessions?status=requiresInput&limit=100")
        .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 5);
    let (_, page) = s.get(&s.live_key, "/v1/sessions?status=complete").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 0);
    let (_, page) = s.get(&s.other_tenant_key, "/v1/sessions").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 0);
    for (q, want) in [
        ("limit=0", "INVALID_REQUEST"),
        ("limit=101", "INVALID_REQUEST"),
        ("limit=abc", "INVALID_REQUEST"),
        ("status=done", "INVALID_REQUEST"),
        ("startingAfter=ses_unknown", "INVALID_REQUEST"),
        ("bogus=1", "INVALID_REQUEST"),
    ] {
        let (st, body) = s.get(&s.live_key, &format!("/v1/sessions?{q}")).await;
        assert_eq!((st, code(&body)), (400, want), "{q}");
    }
    let (st, body) = s
        .get(
            &s.live_key,
            &format!("/v1/sessions?startingAfter={test_id}"),
        )
        .await;
    assert_eq!((st, code(&body)), (400, "INVALID_REQUEST"));
    s.stop().await;
}

/// Bad input of every kind gets its error code, and nothing already stored is lost.
pub async fn bad_input(b: Backend) {
    let s = TestServer::start(b).await;
    let (kept, _, _) = s
        .session(&s.live_key, &[("clientReferenceId", "kept")])
        .await;
    // Authentication.
    let (st, body) = s.send(s.http.get(s.u("/v1/sessions"))).await;
    assert_eq!((st, code(&body)), (401, "UNAUTHORIZED"));
    let (st, body) = s.get("fk_live_000", "/v1/sessions").await;
    assert_eq!((st, code(&body)), (401, "UNAUTHORIZED"));
    let (st, body) = s
        .send(
            s.http
                .get(s.u("/v1/sessions"))
                .header("authorization", "Basic abc"),
        )
        .await;
    assert_eq!((st, code(&body)), (401, "UNAUTHORIZED"));
    // Malformed JSON, wrong content types, unknown fields.
    let (st, body) = s
        .send(
            s.http
                .post(s.u("/v1/sessions"))
                .bearer_auth(&s.live_key)
                .header("content-type", "application/json")
                .body("{\"identityId\": "),
        )
        .await;
    assert_eq!((st, code(&body)), (400, "INVALID_JSON"));
    let (st, body) = s
        .send(
            s.http
                .post(s.u("/v1/sessions"))
                .bearer_auth(&s.live_key)
                .header("content-type", "text/csv")
                .body("a,b"),
        )
        .await;
    assert_eq!((st, code(&body)), (415, "UNSUPPORTED_MEDIA_TYPE"));
    let (st, body) = s
        .post_json(
            &s.live_key,
            "/v1/sessions",
            &json!({ "identityId": "x", "colour": "red" }),
        )
        .await;
    assert_eq!((st, code(&body)), (400, "INVALID_REQUEST"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    let (st, body) = s.post_json(&s.live_key, "/v1/sessions", &json!({})).await;
    assert_eq!((st, code(&body)), (400, "INVALID_REQUEST"));
    // Options out of range.
    for (k, v) in [
        ("maxAttempts", "4"),
        ("minimumMatchLevel", "0"),
        ("lifetime", "2592001"),
        ("lifetime", "5"),
        ("liveness", "magic"),
        ("langs", r#"["en","<script>"]"#),
        ("metadata", "[1,2]"),
        ("metadata", r#"{"n": 5}"#),
        ("customization", "7"),
        ("maxAttempts", "three"),
    ] {
        let (st, body) = s
            .create_with_photo(&s.live_key, data("astronaut.jpg"), &[(k, v)])
            .await;
        assert_eq!(
            (st, code(&body)),
            (400, "INVALID_REQUEST"),
            "{k}={v}: {body}"
        );
    }
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let (st, body) = s
        .create_with_photo(
            &s.live_key,
            data("astronaut.jpg"),
            &[("metadata", &Value::Object(many).to_string())],
        )
        .await;
    assert_eq!((st, code(&body)), (400, "INVALID_REQUEST"));
    let long = json!({ "k": "é".repeat(501) }).to_string();
    let (st, body) = s
        .create_with_photo(&s.live_key, data("astronaut.jpg"), &[("metadata", &long)])
        .await;
    assert_eq!((st, code(&body)), (400, "INVALID_REQUEST"));
    // Photos without exactly one usable face, and things that are not photos.
    let (st, body) = s
        .create_with_photo(&s.live_key, b"%PDF-1.4 not an image".to_vec(), &[])
        .await;
    assert_eq!((st, code(&body)), (422, "INVALID_REFERENCE_IMAGE"));
    let (st, body) = s.create_with_photo(&s.live_key, Vec::new(), &[]).await;
    assert_eq!((st, code(&body)), (422, "INVALID_REFERENCE_IMAGE"));
    let mut truncated = data("astronaut.jpg");
    truncated.truncate(2000);
    let (st, body) = s.create_with_photo(&s.live_key, truncated, &[]).await;
    assert_eq!(
        (st, code(&body)),
        (422, "INVALID_REFERENCE_IMAGE"),
        "{body}"
    );
    let (st, body) = s.create_with_photo(&s.live_key, two_faces(), &[]).await;
    assert_eq!(
        (st, code(&body)),
        (422, "INVALID_REFERENCE_IMAGE"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than one face"),
        "{body}"
    );
    let (st, body) = s.create_with_photo(&s.live_key, blank_png(), &[]).await;
    assert_eq!((st, code(&body)), (422, "INVALID_REFERENCE_IMAGE"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no face"),
        "{body}"
    );
    // SQL-looking strings are data.
    let sql = "x'); DROP TABLE sessions; --";
    let (id, _, created) = s
        .session(
            &s.live_key,
            &[
                ("clientReferenceId", sql),
                ("metadata", &json!({ "q": "1 OR 1=1" }).to_string()),
            ],
        )
        .await;
    assert_eq!(created["session"]["clientReferenceId"], sql);
    let (st, page) = s
        .send(
            s.http
                .get(s.u("/v1/sessions"))
                .query(&[("clientReferenceId", sql)])
                .bearer_auth(&s.live_key),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(page["data"][0]["id"], id.as_str());
    // A 200 MB upload is refused before its body is read.
    let started = std::time::Instant::now();
    let (st, body) = oversized_upload(&s, 200 * 1024 * 1024).await;
    assert_eq!((st, code(&body)), (413, "PAYLOAD_TOO_LARGE"), "{body}");
    assert!(started.elapsed().as_secs() < 10);
    // A chunked body (no length) over the limit is cut off too.
    let chunks = futures_chunks(12 * 1024 * 1024);
    let resp = s
        .http
        .post(s.u("/v1/sessions"))
        .bearer_auth(&s.live_key)
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body(reqwest::Body::from(chunks))
        .send()
        .await;
    if let Ok(r) = resp {
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    // Big JSON.
    let big = json!({ "identityId": "x".repeat(2 * 1024 * 1024) });
    let (st, body) = s.post_json(&s.live_key, "/v1/sessions", &big).await;
    assert_eq!((st, code(&body)), (413, "PAYLOAD_TOO_LARGE"), "{body}");
    // Unknown routes and methods.
    let (st, body) = s.get(&s.live_key, "/v1/nothing").await;
    assert_eq!((st, code(&body)), (404, "NOT_FOUND"));
    let (st, body) = s
        .send(s.http.put(s.u("/v1/sessions")).bearer_auth(&s.live_key))
        .await;
    assert_eq!((st, code(&body)), (405, "METHOD_NOT_ALLOWED"));
    let (st, body) = s.get(&s.live_key, "/v1/sessions/ses_none").await;
    assert_eq!((st, code(&body)), (404, "SESSION_NOT_FOUND"));
    // Nothing stored was lost.
    let (st, got) = s.get(&s.live_key, &format!("/v1/sessions/{kept}")).await;
    assert_eq!(
        (st, got["session"]["clientReferenceId"].as_str()),
        (200, Some("kept"))
    );
    s.stop().await;
}

fn futures_chunks(n: usize) -> Vec<u8> {
    let mut v = b"--XYZ\r\nContent-Disposition: form-data; name=\"reference_image\"; filename=\"a.jpg\"\r\n\r\n".to_vec();
    v.resize(n, b'a');
    v
}

async fn oversized_upload(s: &TestServer, len: u64) -> (u16, Value) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = s.url.trim_start_matches("http://").to_owned();
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: {len}\r\n\r\n",
        s.live_key
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&[b'a'; 4096]).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sock.read_to_end(&mut buf),
    )
    .await;
    let text = String::from_utf8_lossy(&buf).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, body)
}

fn two_faces() -> Vec<u8> {
    let a = image::load_from_memory(&data("astronaut.jpg"))
        .unwrap()
        .to_rgb8();
    let mut canvas = image::RgbImage::new(1024, 512);
    image::imageops::overlay(&mut canvas, &a, 0, 0);
    image::imageops::overlay(&mut canvas, &a, 512, 0);
    let mut out = std::io::Cursor::new(Vec::new());
    canvas.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn blank_png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(400, 400, image::Rgb([200, 180, 160]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Tokens from API keys; their expiry; what they may not do.
pub async fn tokens(b: Backend) {
    let s = TestServer::start(b).await;
    let (st, t) = s.post_json(&s.live_key, "/v1/token", &json!({})).await;
    assert_eq!(st, 200, "{t}");
    let token = t["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(t["expiresIn"], 900);
    let (st, _) = s.get(&token, "/v1/sessions").await;
    assert_eq!(st, 200);
    let (st, body) = s.post_json(&token, "/v1/token", &json!({})).await;
    assert_eq!((st, code(&body)), (401, "UNAUTHORIZED"));
    s.clock.advance(901_000);
    let (st, body) = s.get(&token, "/v1/sessions").await;
    assert_eq!((st, code(&body)), (401, "TOKEN_EXPIRED"));
    // Revoking a key stops it and the tokens minted from it, at once.
    let (_, t) = s.post_json(&s.test_key, "/v1/token", &json!({})).await;
    let test_token = t["accessToken"].as_str().unwrap().to_owned();
    let keys = facekiosk_server::admin::list_api_keys(&s.db, Some("bank"))
        .await
        .unwrap();
    let test_id = &keys.iter().find(|k| k.test).unwrap().id;
    assert!(
        facekiosk_server::admin::revoke_api_key(&s.db, test_id, 0)
            .await
            .unwrap()
    );
    for k in [&s.test_key, &test_token] {
        let (st, body) = s.get(k, "/v1/sessions").await;
        assert_eq!((st, code(&body)), (401, "UNAUTHORIZED"));
    }
    let (st, _) = s.get(&s.live_key, "/v1/sessions").await;
    assert_eq!(st, 200, "other keys work on");
    s.stop().await;
}

/// Cancel; traces; kiosk disable; the JWKS; registration errors.
pub async fn kiosks_traces_and_cancel(b: Backend) {
    let s = TestServer::start(b).await;
    let kiosk = s.kiosk("kiosk-k", 10).await;
    // Traces: idempotent per batch.
    let batch = json!({ "batchId": "b-1", "events": [
        { "event": "START", "category": "FACE_SESSION", "status": "INFO", "elapsedMs": 0, "timestamp": 1 },
        { "event": "COMPLETE", "category": "FACE_SESSION", "status": "SUCCESS", "elapsedMs": 9000, "timestamp": 2 },
    ]});
    let (st, body) = s
        .post_json(&kiosk.credential, "/v1/kiosk/traces", &batch)
        .await;
    assert_eq!(
        (st, body["duplicate"].as_bool()),
        (200, Some(false)),
        "{body}"
    );
    let (st, body) = s
        .post_json(&kiosk.credential, "/v1/kiosk/traces", &batch)
        .await;
    assert_eq!((st, body["duplicate"].as_bool()), (200, Some(true)));
    let (st, body) = s
        .post_json(
            &kiosk.credential,
            "/v1/kiosk/traces",
            &json!({ "batchId": "b-2", "events": [1] }),
        )
        .await;
    assert_eq!((st, code(&body)), (400, "INVALID_REQUEST"));
    // Cancel.
    let (id, secret, _) = s.session(&s.live_key, &[]).await;
    let (st, body) = s
        .post_json(
            &s.live_key,
            &format!("/v1/sessions/{id}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(body["session"]["status"], "canceled");
    assert_eq!(body["session"]["cancelReason"], "canceledByIntegrator");
    let (st, _) = s
        .post_json(
            &s.live_key,
            &format!("/v1/sessions/{id}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(st, 200, "idempotent");
    let (st, body) = s
        .claim(&kiosk, &json!({ "sessionId": id, "clientSecret": secret }))
        .await;
    assert_eq!((st, code(&body)), (409, "SESSION_ENDED"));
    let (st, body) = s
        .get(&s.live_key, &format!("/v1/sessions/{id}/refresh"))
        .await;
    assert_eq!((st, code(&body)), (409, "SESSION_ENDED"));
    // The JWKS lists the kiosk's live and test keys apart.
    let (st, jwks) = s.send(s.http.get(s.u("/v1/kiosks/jwks"))).await;
    assert_eq!(st, 200);
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["kiosk-k"]);
    let (_, test_jwks) = s.send(s.http.get(s.u("/v1/kiosks/jwks?test=true"))).await;
    assert!(
        test_jwks["keys"][0]["kid"]
            .as_str()
            .unwrap()
            .starts_with("kiosk-k.test-")
    );
    // A JWKS from the API verifies a result offline.
    let sha = sha256_hex(b"walk-in photo");
    let jws = kiosk.sign(
        &s.clock,
        &Outcome {
            session_id: "w-9",
            jti: "c0000000-0000-4000-8000-000000000001",
            verified: true,
            test: false,
            walk_in: true,
            reference_sha256: &sha,
            nonce: None,
        },
    );
    let parsed = facekiosk_identity::Jwks::parse(&jwks.to_string()).unwrap();
    facekiosk_identity::verify(&jws, &parsed, s.clock.now_s_value()).unwrap();
    // Rotation: the new key is accepted once sent.
    let mut identity = kiosk.identity.clone();
    identity.rotate(s.clock.now_s_value()).unwrap();
    let rotated = identity
        .signer()
        .sign(&kiosk.claims(
            &s.clock,
            &Outcome {
                session_id: "w-10",
                jti: "c0000000-0000-4000-8000-000000000002",
                verified: true,
                test: false,
                walk_in: true,
                reference_sha256: &sha,
                nonce: None,
            },
        ))
        .unwrap();
    let (st, body) = s.post_result(&kiosk, &rotated).await;
    assert_eq!((st, code(&body)), (401, "UNKNOWN_KEY"));
    // The new key set must be signed by a key the server knows: the credential alone, or the
    // new (unknown) key, adds nothing.
    let now_s = s.clock.now_s_value();
    let claims =
        json!({ "iss": "kiosk-k", "iat": now_s, "exp": now_s + 300, "keys": identity.jwks() });
    let (st, body) = s
        .post_json(
            &kiosk.credential,
            "/v1/kiosk/keys",
            &json!({ "keys": identity.jwks() }),
        )
        .await;
    assert_eq!((st, code(&body)), (400, "INVALID_REQUEST"), "{body}");
    let self_signed = identity.signer().sign(&claims).unwrap();
    let (st, body) = s
        .post_json(
            &kiosk.credential,
            "/v1/kiosk/keys",
            &json!({ "proof": self_signed }),
        )
        .await;
    assert_eq!((st, code(&body)), (401, "UNKNOWN_KEY"), "{body}");
    let by_test_key = kiosk.test.sign(&claims).unwrap();
    let (st, _) = s
        .post_json(
            &kiosk.credential,
            "/v1/kiosk/keys",
            &json!({ "proof": by_test_key }),
        )
        .await;
    assert_eq!(st, 401, "a test key vouches for nothing");
    let proof = kiosk.live.sign(&claims).unwrap();
    let (st, body) = s
        .post_json(
            &kiosk.credential,
            "/v1/kiosk/keys",
            &json!({ "proof": proof }),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["keys"].as_array().unwrap().len(), 2);
    let (st, body) = s.post_result(&kiosk, &rotated).await;
    assert_eq!(st, 200, "{body}");
    // The old key's window closed 15 minutes after the rotation.
    s.clock.advance(16 * 60 * 1000);
    let late = kiosk.sign(
        &s.clock,
        &Outcome {
            session_id: "w-11",
            jti: "c0000000-0000-4000-8000-000000000003",
            verified: true,
            test: false,
            walk_in: true,
            reference_sha256: &sha,
            nonce: None,
        },
    );
    let (st, body) = s.post_result(&kiosk, &late).await;
    assert_eq!((st, code(&body)), (401, "KEY_NOT_VALID"), "{body}");
    let (st, body) = s
        .send(
            s.http
                .post(s.u("/v1/kiosk/results"))
                .bearer_auth(&kiosk.credential)
                .header("content-type", "text/csv")
                .body(rotated.clone()),
        )
        .await;
    assert_eq!((st, code(&body)), (415, "UNSUPPORTED_MEDIA_TYPE"));
    let (st, body) = s
        .send(
            s.http
                .post(s.u("/v1/kiosk/results"))
                .bearer_auth(&kiosk.credential)
                .json(&json!({ "result": rotated })),
        )
        .await;
    assert_eq!(
        (st, body["duplicate"].as_bool()),
        (200, Some(true)),
        "JSON form: {body}"
    );
    // Disabling: the credential stops at once; the keys' window closes.
    let (st, body) = s
        .post_json(&s.live_key, "/v1/kiosks/kiosk-k/disable", &json!({}))
        .await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = s.post_result(&kiosk, &jws).await;
    assert_eq!((st, code(&body)), (403, "KIOSK_DISABLED"));
    let (_, jwks) = s
        .send(s.http.get(s.u("/v1/kiosks/jwks?kiosk=kiosk-k")))
        .await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["exp"].is_u64())
    );
    let (st, body) = s
        .post_json(
            &s.other_tenant_key,
            "/v1/kiosks/kiosk-k/disable",
            &json!({}),
        )
        .await;
    assert_eq!((st, code(&body)), (404, "KIOSK_NOT_FOUND"));
    // Registration errors.
    let (_, t) = s.post_json(&s.live_key, "/v1/kiosks", &json!({})).await;
    let token = t["enrolmentToken"].as_str().unwrap();
    let id = facekiosk_identity::KioskIdentity::from_seed("kiosk-k", [11; 32], 0);
    let (st, body) = s
        .send(
            s.http
                .post(s.u("/v1/kiosks/register"))
                .json(&json!({ "enrolmentToken": token, "kioskId": "kiosk-k", "keys": id.jwks() })),
        )
        .await;
    assert_eq!((st, code(&body)), (409, "KIOSK_EXISTS"));
    let other = facekiosk_identity::KioskIdentity::from_seed("kiosk-z", [12; 32], 0);
    let (st, body) = s
        .send(
            s.http.post(s.u("/v1/kiosks/register")).json(
                &json!({ "enrolmentToken": token, "kioskId": "kiosk-y", "keys": other.jwks() }),
            ),
        )
        .await;
    assert_eq!(
        (st, code(&body)),
        (400, "INVALID_REQUEST"),
        "a key of another kiosk id"
    );
    let (st, body) = s
        .send(
            s.http.post(s.u("/v1/kiosks/register")).json(
                &json!({ "enrolmentToken": token, "kioskId": "kiosk-z", "keys": other.jwks() }),
            ),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let (st, body) = s
        .send(s.http.post(s.u("/v1/kiosks/register")).json(
            &json!({ "enrolmentToken": token, "kioskId": "kiosk-q", "keys": { "keys": [] } }),
        ))
        .await;
    assert_eq!((st, code(&body)), (400, "INVALID_REQUEST"));
    let q = facekiosk_identity::KioskIdentity::from_seed("kiosk-q", [13; 32], 0);
    let (st, body) = s
        .send(
            s.http
                .post(s.u("/v1/kiosks/register"))
                .json(&json!({ "enrolmentToken": token, "kioskId": "kiosk-q", "keys": q.jwks() })),
        )
        .await;
    assert_eq!(
        (st, code(&body)),
        (401, "INVALID_ENROLMENT_TOKEN"),
        "single use"
    );
    s.stop().await;
}

/// Health, readiness, metrics and the OpenAPI document.
pub async fn operations(b: Backend) {
    let s = TestServer::start(b).await;
    let (st, body) = s.send(s.http.get(s.u("/healthz"))).await;
    assert_eq!((st, body["status"].as_str()), (200, Some("ok")));
    let (st, body) = s.send(s.http.get(s.u("/readyz"))).await;
    assert_eq!(st, 200);
    assert_eq!(
        body["database"],
        if b == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    let _ = s.session(&s.live_key, &[]).await;
    let _ = s.get(&s.live_key, "/v1/sessions/ses_x").await;
    let resp = s.http.get(s.u("/metrics")).send().await.unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    assert!(
        text.contains(
            r#"facekiosk_http_requests_total{method="POST",route="/v1/sessions",status="201"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/v1/sessions/{id}",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains("facekiosk_http_request_duration_seconds_bucket"));
    assert!(
        text.contains(r#"facekiosk_sessions{status="requiresInput",test="false"} 1"#),
        "{text}"
    );
    let (st, doc) = s.send(s.http.get(s.u("/openapi.json"))).await;
    assert_eq!(st, 200);
    assert!(doc["paths"]["/v1/sessions"]["post"].is_object());
    assert!(doc["paths"]["/v1/kiosk/results"]["post"].is_object());
    let resp = s
        .http
        .get(s.u("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    s.stop().await;
}

/// Every operation in the OpenAPI document is a route the server answers (the document and
/// the router come from the same annotations; this checks they stay wired).
pub async fn openapi_matches_the_routes(b: Backend) {
    let s = TestServer::start(b).await;
    let (_, doc) = s.send(s.http.get(s.u("/openapi.json"))).await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 15, "{}", paths.len());
    let mut checked = 0;
    for (path, ops) in paths {
        let concrete = path.replace("{id}", "ses_none");
        for method in ops.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (st, body) = s
                .send(s.http.request(m, s.u(&concrete)).bearer_auth(&s.live_key))
                .await;
            assert!(
                !(st == 404 && code(&body) == "NOT_FOUND") && st != 405,
                "{method} {path}: {st} {body}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 18);
    s.stop().await;
}

/// Per-key rate limits answer 429 with Retry-After; a slow request times out with 408; a
/// shutdown lets the request in flight finish.
pub async fn limits_timeouts_and_shutdown(b: Backend) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let config = facekiosk_server::ServerConfig {
        rate_limit_per_s: 1.0,
        rate_limit_burst: 3,
        request_timeout_s: 1,
        ..Default::default()
    };
    let mut s = TestServer::start_with(b, config).await;
    for _ in 0..3 {
        let (st, _) = s.get(&s.live_key, "/v1/sessions").await;
        assert_eq!(st, 200);
    }
    let resp = s
        .http
        .get(s.u("/v1/sessions"))
        .bearer_auth(&s.live_key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    // Other keys are not affected.
    let (st, _) = s.get(&s.test_key, "/v1/sessions").await;
    assert_eq!(st, 200);
    s.clock.advance(1000);
    let (st, _) = s.get(&s.live_key, "/v1/sessions").await;
    assert_eq!(st, 200);
    s.clock.advance(10_000);

    let kiosk = s.kiosk("kiosk-t", 20).await;
    let body = json!({ "batchId": "slow", "events": [ { "event": "START" } ] }).to_string();
    let head = format!(
        "POST /v1/kiosk/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        kiosk.credential,
        body.len()
    );
    let addr = s.url.trim_start_matches("http://").to_owned();
    // A client that stalls mid-body gets 408.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body.as_bytes()[..10]).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        slow.read_to_end(&mut buf),
    )
    .await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("TIMEOUT"), "{text}");
    // A request in flight when the shutdown starts still completes.
    let mut inflight = tokio::net::TcpStream::connect(&addr).await.unwrap();
    inflight.write_all(head.as_bytes()).await.unwrap();
    inflight.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let server = s.server.take().unwrap();
    let stopping = tokio::spawn(server.shutdown());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    inflight.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        inflight.read_to_end(&mut buf),
    )
    .await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    stopping.await.unwrap().unwrap();
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "no new connections after shutdown"
    );
    s.stop().await;
}

/// The same result posted many times at once is stored once; different results racing for one
/// session: one wins, the others are conflicts.
pub async fn concurrent_posts(b: Backend) {
    let s = TestServer::start(b).await;
    let kiosk = s.kiosk("kiosk-p", 21).await;
    let sha = sha256_hex(&data("astronaut.jpg"));
    let (id, secret, _) = s.session(&s.live_key, &[]).await;
    let (st, _) = s
        .claim(&kiosk, &json!({ "sessionId": id, "clientSecret": secret }))
        .await;
    assert_eq!(st, 200);
    let jws = kiosk.sign(
        &s.clock,
        &Outcome {
            session_id: &id,
            jti: "d0000000-0000-4000-8000-000000000001",
            verified: true,
            test: false,
            walk_in: false,
            reference_sha256: &sha,
            nonce: None,
        },
    );
    let answers = post_all(&s, &kiosk.credential, vec![jws; 8]).await;
    assert!(answers.iter().all(|(st, _)| *st == 200), "{answers:?}");
    let firsts = answers
        .iter()
        .filter(|(_, b)| b["duplicate"] == false)
        .count();
    assert_eq!(firsts, 1, "{answers:?}");
    // Racing walk-ins with one session id.
    let racing: Vec<String> = (0..6)
        .map(|i| {
            kiosk.sign(
                &s.clock,
                &Outcome {
                    session_id: "walkin-race",
                    jti: &format!("d0000000-0000-4000-8000-00000000010{i}"),
                    verified: true,
                    test: false,
                    walk_in: true,
                    reference_sha256: &sha,
                    nonce: None,
                },
            )
        })
        .collect();
    // Together with 20 good ones: results that fail never take the others down with them
    // (on SQLite they share transactions).
    let mut all = racing;
    for i in 0..20 {
        all.push(kiosk.sign(
            &s.clock,
            &Outcome {
                session_id: &format!("walkin-ok-{i}"),
                jti: &format!("d0000000-0000-4000-8000-00000000020{i:02}"),
                verified: true,
                test: false,
                walk_in: true,
                reference_sha256: &sha,
                nonce: None,
            },
        ));
    }
    let answers = post_all(&s, &kiosk.credential, all).await;
    let (racing, good) = answers.split_at(6);
    let ok = racing.iter().filter(|(st, _)| *st == 200).count();
    let conflicts = racing
        .iter()
        .filter(|(st, b)| *st == 409 && code(b) == "RESULT_CONFLICT")
        .count();
    assert_eq!((ok, conflicts), (1, 5), "{racing:?}");
    assert!(good.iter().all(|(st, _)| *st == 200), "{good:?}");
    let (stored, distinct) = facekiosk_server::admin::count_results(&s.db).await.unwrap();
    assert_eq!((stored, distinct), (22, 22));
    s.stop().await;
}

/// Posts each result at once, on its own task; the answers in order.
async fn post_all(s: &TestServer, credential: &str, results: Vec<String>) -> Vec<(u16, Value)> {
    let mut tasks = Vec::new();
    for jws in results {
        let req = s
            .http
            .post(s.u("/v1/kiosk/results"))
            .bearer_auth(credential)
            .header("content-type", "application/jose")
            .body(jws);
        tasks.push(tokio::spawn(async move {
            let r = req.send().await.unwrap();
            let st = r.status().as_u16();
            (st, r.json::<Value>().await.unwrap())
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Limits that must hold under concurrency: guesses sent at once still get 5 tries per window;
/// one enrolment token registers one kiosk however many try at once.
pub async fn limits_hold_under_concurrency(b: Backend) {
    let s = TestServer::start(b).await;
    let guesser = s.kiosk("kiosk-cg", 22).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let req = s
            .http
            .post(s.u("/v1/kiosk/sessions/claim"))
            .bearer_auth(&guesser.credential)
            .json(&json!({ "digitString": format!("{:06}", 900_000 + i) }));
        tasks.push(tokio::spawn(async move {
            req.send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let tried = statuses.iter().filter(|&&st| st == 404).count();
    let refused = statuses.iter().filter(|&&st| st == 429).count();
    assert_eq!((tried, refused), (5, 15), "{statuses:?}");

    let (_, t) = s.post_json(&s.live_key, "/v1/kiosks", &json!({})).await;
    let token = t["enrolmentToken"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let id = format!("kiosk-race-{i}");
        let keys = facekiosk_identity::KioskIdentity::from_seed(&id, [30 + i as u8; 32], 0).jwks();
        let req = s
            .http
            .post(s.u("/v1/kiosks/register"))
            .json(&json!({ "enrolmentToken": token, "kioskId": id, "keys": keys }));
        tasks.push(tokio::spawn(async move {
            req.send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|&&st| st == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&st| st == 401).count(),
        5,
        "{statuses:?}"
    );
    s.stop().await;
}
