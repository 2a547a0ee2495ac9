//! The same integration tests on PostgreSQL. `make test` starts a throw-away server
//! (scripts/with-postgres) and runs these with `--ignored`; run alone, they fail with a clear
//! message rather than pass without checking anything.
#![allow(missing_docs)]

mod common;
mod suite;

macro_rules! on_postgres {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs PostgreSQL: `make test` runs it against a throw-away server"]
            async fn $name() {
                suite::$name(common::Backend::Postgres).await;
            }
        )*
    };
}

on_postgres!(
    full_lifecycle,
    refresh_invalidates_the_old_secret,
    expiry,
    digit_code_claim,
    staff_pick_from_waiting_list,
    bad_results_are_refused,
    walk_ins,
    pagination,
    bad_input,
    tokens,
    kiosks_traces_and_cancel,
    operations,
    openapi_matches_the_routes,
    limits_timeouts_and_shutdown,
    concurrent_posts,
    limits_hold_under_concurrency,
);
