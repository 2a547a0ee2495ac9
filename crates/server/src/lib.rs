//! # facekiosk-server — the verification API
//!
//! The server kiosks sync to and integrators call: sessions and client secrets, kiosk
//! registration, signed results (idempotent on `jti`), trace batches, webhooks, face
//! authentication. SQLite by default, PostgreSQL for several replicas.
//!
//! **Never:** the server never accepts a result whose signature, kiosk key or expiry does not
//! verify, never accepts a result twice, and never writes a face image, an embedding or a
//! client secret to a log.
