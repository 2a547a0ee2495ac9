//! Prometheus metrics: requests by route and status, latency histograms by route; sessions by
//! status are counted from the database at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Latency buckets, seconds.
const BUCKETS_S: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS_S.len()],
    count: u64,
    sum_s: f64,
}

/// The server's request metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Records one request: its method, route template (never the raw path), status, latency.
    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l.entry((method.to_owned(), route.to_owned())).or_default();
            for (i, b) in BUCKETS_S.iter().enumerate() {
                if seconds <= *b {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum_s += seconds;
        }
    }

    /// The Prometheus text exposition, with `sessions` (status, test → count) appended.
    pub fn render(&self, sessions: &[(String, bool, i64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP facekiosk_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE facekiosk_http_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((m, route, s), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "facekiosk_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{s}\"}} {n}",
                    escape(m),
                    escape(route)
                );
            }
        }
        out.push_str(
            "# HELP facekiosk_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE facekiosk_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for ((m, route), h) in l.iter() {
                let labels = format!("method=\"{}\",route=\"{}\"", escape(m), escape(route));
                for (i, b) in BUCKETS_S.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "facekiosk_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "facekiosk_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "facekiosk_http_request_duration_seconds_sum{{{labels}}} {}",
                    h.sum_s
                );
                let _ = writeln!(
                    out,
                    "facekiosk_http_request_duration_seconds_count{{{labels}}} {}",
                    h.count
                );
            }
        }
        out.push_str("# HELP facekiosk_sessions Sessions by status.\n");
        out.push_str("# TYPE facekiosk_sessions gauge\n");
        for (status, test, n) in sessions {
            let _ = writeln!(
                out,
                "facekiosk_sessions{{status=\"{}\",test=\"{test}\"}} {n}",
                escape(status)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.record("GET", "/v1/sessions/{id}", 200, 0.003);
        m.record("GET", "/v1/sessions/{id}", 404, 0.2);
        let text = m.render(&[("complete".to_owned(), false, 3)]);
        assert!(text.contains(
            "facekiosk_http_requests_total{method=\"GET\",route=\"/v1/sessions/{id}\",status=\"404\"} 1"
        ));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"0.25\"} 2"));
        assert!(text.contains("facekiosk_sessions{status=\"complete\",test=\"false\"} 3"));
    }
}
