//! The kiosk's side of the verification API: registration, key publication, and delivery of
//! queued results and traces, each answer sorted into acknowledged, dead or retry.

use std::time::Duration;

use facekiosk_identity::Jwks;
use serde_json::{Value, json};

/// What the API made of a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The API has it (2xx, including "already had it").
    Acknowledged,
    /// Refused for good (400, 401, 403, 404, 409, 422): the reason, for staff.
    Dead {
        /// The API's error code, when it gave one.
        code: Option<String>,
        /// Why, for staff.
        reason: String,
    },
    /// Try again later (408, 429, 5xx, no answer): why, and the server's `Retry-After`.
    Retry {
        /// Why.
        reason: String,
        /// Seconds the server asked to wait.
        retry_after_s: Option<u64>,
    },
}

/// A failure of a call that is not a delivery (registration, key publication).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer (network down, server off, timeout): `NETWORK_ERROR`.
    #[error("NETWORK_ERROR: the API at {url} cannot be reached: {reason}")]
    Network {
        /// The API.
        url: String,
        /// Why.
        reason: String,
    },
    /// The API answered with an error.
    #[error("the API refused it ({status} {code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The API's code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The API answered something that is not what it should.
    #[error("the API's answer is not understood: {0}")]
    Answer(String),
}

/// How a kiosk claims a session.
#[derive(Clone, Copy, Debug)]
pub enum Claim<'a> {
    /// The session id and its client secret (e.g. from the QR code).
    Secret {
        /// The session.
        session_id: &'a str,
        /// Its client secret.
        client_secret: &'a str,
    },
    /// The digit code.
    Digits(&'a str),
    /// A session staff picked from the waiting list, in their name.
    Staff {
        /// The session.
        session_id: &'a str,
        /// The staff member.
        operator: &'a str,
    },
}

/// A client of the API.
#[derive(Clone, Debug)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    credential: Option<String>,
}

/// The largest answer body read, bytes (a garbage or huge answer is not read past it).
const MAX_ANSWER: usize = 1024 * 1024;

impl ApiClient {
    /// A client of the API at `base` (`https://…`), with the kiosk's credential when registered.
    /// Connections time out after 5 s, requests after 20 s.
    pub fn new(base: &str, credential: Option<String>) -> Result<ApiClient, ClientError> {
        Self::with_timeouts(
            base,
            credential,
            Duration::from_secs(5),
            Duration::from_secs(20),
            true,
        )
    }

    /// [`new`](Self::new) with other timeouts (connection, whole request), and without
    /// keeping connections open between requests when `keep_alive` is false.
    pub fn with_timeouts(
        base: &str,
        credential: Option<String>,
        connect: Duration,
        request: Duration,
        keep_alive: bool,
    ) -> Result<ApiClient, ClientError> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(if keep_alive { usize::MAX } else { 0 })
            .connect_timeout(connect)
            .timeout(request)
            .user_agent(concat!("facekiosk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Answer(e.to_string()))?;
        Ok(ApiClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            credential,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.credential {
            Some(c) => req.bearer_auth(c),
            None => req,
        }
    }

    /// Sends and reads the answer (at most [`MAX_ANSWER`] bytes): status, body (JSON or null),
    /// `Retry-After`.
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, Value, Option<u64>), ClientError> {
        let network = |e: reqwest::Error| ClientError::Network {
            url: self.base.clone(),
            reason: e.to_string(),
        };
        let mut resp = req.send().await.map_err(network)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(network)? {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(ClientError::Answer(format!(
                    "HTTP {status} with a body over {MAX_ANSWER} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok((status, json, retry_after))
    }

    fn sort(answer: Result<(u16, Value, Option<u64>), ClientError>) -> Delivery {
        match answer {
            Err(e) => Delivery::Retry {
                reason: e.to_string(),
                retry_after_s: None,
            },
            Ok((status, _, _)) if (200..300).contains(&status) => Delivery::Acknowledged,
            Ok((status, body, retry_after)) => {
                let code = body["error"]["code"].as_str().map(str::to_owned);
                let message = body["error"]["message"]
                    .as_str()
                    .unwrap_or("no message")
                    .to_owned();
                let label = format!(
                    "HTTP {status} {}: {message}",
                    code.as_deref().unwrap_or("(no error code)")
                );
                match status {
                    408 | 429 | 500..=599 => Delivery::Retry {
                        reason: label,
                        retry_after_s: retry_after,
                    },
                    401 => Delivery::Dead {
                        reason: format!(
                            "{label} (if the kiosk's credential is the problem, register it again: facekiosk kiosk register)"
                        ),
                        code,
                    },
                    _ => Delivery::Dead {
                        reason: label,
                        code,
                    },
                }
            }
        }
    }

    /// Posts a result JWS.
    pub async fn post_result(&self, jws: &str) -> Delivery {
        let req = self
            .auth(self.http.post(self.url("/v1/kiosk/results")))
            .header(reqwest::header::CONTENT_TYPE, "application/jose")
            .body(jws.to_owned());
        Self::sort(self.send(req).await)
    }

    /// Posts a batch of trace events.
    pub async fn post_traces(&self, batch_id: &str, events: &Value) -> Delivery {
        let req = self
            .auth(self.http.post(self.url("/v1/kiosk/traces")))
            .json(&json!({ "batchId": batch_id, "events": events }));
        Self::sort(self.send(req).await)
    }

    fn refused(status: u16, body: &Value) -> ClientError {
        ClientError::Refused {
            status,
            code: body["error"]["code"].as_str().unwrap_or("?").to_owned(),
            message: body["error"]["message"].as_str().unwrap_or("").to_owned(),
        }
    }

    /// Registers the kiosk with an enrolment token and its public keys; returns its credential.
    pub async fn register(
        &self,
        enrolment_token: &str,
        kiosk_id: &str,
        keys: &Jwks,
        test_keys: &Jwks,
    ) -> Result<String, ClientError> {
        let req = self
            .http
            .post(self.url("/v1/kiosks/register"))
            .json(&json!({
                "enrolmentToken": enrolment_token,
                "kioskId": kiosk_id,
                "keys": keys,
                "testKeys": test_keys,
            }));
        let (status, body, _) = self.send(req).await?;
        if status != 201 {
            return Err(Self::refused(status, &body));
        }
        body["credential"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| {
                ClientError::Answer("no `credential` in the registration's answer".to_owned())
            })
    }

    /// Claims a session — by its id and client secret, or by the digit code the customer
    /// typed — and returns the API's answer: the settings and the reference photo. Fails fast
    /// with `NETWORK_ERROR` when the API cannot be reached.
    pub async fn claim(&self, how: &Claim<'_>) -> Result<Value, ClientError> {
        let body = match how {
            Claim::Secret {
                session_id,
                client_secret,
            } => json!({ "sessionId": session_id, "clientSecret": client_secret }),
            Claim::Digits(d) => json!({ "digitString": d }),
            Claim::Staff {
                session_id,
                operator,
            } => json!({ "sessionId": session_id, "staffOperator": operator }),
        };
        let req = self
            .auth(self.http.post(self.url("/v1/kiosk/sessions/claim")))
            .json(&body);
        let (status, body, _) = self.send(req).await?;
        if status != 200 {
            return Err(Self::refused(status, &body));
        }
        if !body["referenceImage"]["data"].is_string() {
            return Err(ClientError::Answer(
                "the claim's answer has no reference photo".to_owned(),
            ));
        }
        Ok(body)
    }

    /// The sessions of the kiosk's tenant waiting for a kiosk (`GET /v1/kiosk/sessions/waiting`):
    /// `{ data: [{ sessionId, clientReferenceId, test, createdAt, expiresAt }] }`.
    pub async fn waiting_sessions(&self) -> Result<Value, ClientError> {
        let req = self.auth(self.http.get(self.url("/v1/kiosk/sessions/waiting")));
        let (status, body, _) = self.send(req).await?;
        if status != 200 {
            return Err(Self::refused(status, &body));
        }
        if !body["data"].is_array() {
            return Err(ClientError::Answer(
                "the waiting list's answer has no data".to_owned(),
            ));
        }
        Ok(body)
    }

    /// Whether the API answers (`GET /healthz`): how the worker notices the network is back.
    pub async fn reachable(&self) -> bool {
        matches!(
            self.send(self.http.get(self.url("/healthz"))).await,
            Ok((200..=299, _, _))
        )
    }

    /// Publishes the kiosk's keys with a proof (a JWS signed by a key the API knows).
    pub async fn publish_keys(&self, proof: &str) -> Result<(), ClientError> {
        let req = self
            .auth(self.http.post(self.url("/v1/kiosk/keys")))
            .json(&json!({ "proof": proof }));
        let (status, body, _) = self.send(req).await?;
        if status != 200 {
            return Err(Self::refused(status, &body));
        }
        Ok(())
    }
}
