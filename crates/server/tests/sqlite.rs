//! The API's integration tests on SQLite (the embedded default).
#![allow(missing_docs)]

mod common;
mod suite;

macro_rules! on_sqlite {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                suite::$name(common::Backend::Sqlite).await;
            }
        )*
    };
}

on_sqlite!(
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
