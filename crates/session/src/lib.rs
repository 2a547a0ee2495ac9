//! # facekiosk-session — the face-session engine
//!
//! The state machine of one face session: it takes frame analyses from the face engine, user
//! actions (start, cancel, retry) and the time, and returns the new state plus effects
//! (guidance, trace events, the outcome). Attempts, match levels, liveness challenges and the
//! signed result (a JWS) live here.
//!
//! **Never:** this crate never sleeps, spawns threads, reads the clock, or touches the network,
//! SQLite, files or Tauri; time and randomness are passed in. It never puts an image, an
//! embedding or a secret into a trace event.
