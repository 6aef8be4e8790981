//! Prometheus metrics, served as text at `GET /metrics`.
//!
//! Labels carry only bounded, non-sensitive values: action names, policy names from the
//! config, detector names the host knows, error kinds. Never a matched value or an address.

use std::net::SocketAddr;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::decision::{Action, ErrorKind, PolicyResult};

/// Every metric the daemon exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Messages by final action.
    pub messages: IntCounterVec,
    /// Policy evaluation time.
    pub policy_duration: HistogramVec,
    /// Verdicts by policy and action.
    pub policy_verdicts: IntCounterVec,
    /// Policy failures by kind.
    pub policy_errors: IntCounterVec,
    /// Encryptions by method and result.
    pub encryptions: IntCounterVec,
    /// Findings by detector.
    pub findings: IntCounterVec,
    /// Whole-message processing time.
    pub message_duration: HistogramVec,
    /// Messages being processed now.
    pub in_flight: IntGauge,
    /// Milter sessions that ended in an internal error answered with tempfail.
    pub internal_errors: IntCounter,
    /// Addresses with an OpenPGP certificate.
    pub openpgp_addresses: IntGauge,
    /// Largest linear memory a policy instance used.
    pub policy_memory_peak: IntGaugeVec,
    /// Config reloads by result.
    pub reloads: IntCounterVec,
}

#[allow(
    clippy::expect_used,
    reason = "metric definitions are constants; a failure is a bug caught by tests"
)]
impl Default for Metrics {
    fn default() -> Self {
        Metrics::new().expect("metric definitions are valid")
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let counter =
            |name: &str, help: &str, labels: &[&str]| -> prometheus::Result<IntCounterVec> {
                let c = IntCounterVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(c.clone()))?;
                Ok(c)
            };
        let messages = counter(
            "wasmilter_messages_total",
            "Messages by final action.",
            &["action"],
        )?;
        let policy_verdicts = counter(
            "wasmilter_policy_verdicts_total",
            "Policy verdicts by policy and action.",
            &["policy", "action"],
        )?;
        let policy_errors = counter(
            "wasmilter_policy_errors_total",
            "Policy failures (trap, deadline, memory, bad_verdict, instantiate) by policy.",
            &["policy", "kind"],
        )?;
        let encryptions = counter(
            "wasmilter_encryptions_total",
            "Encryptions by method and result.",
            &["method", "result"],
        )?;
        let findings = counter(
            "wasmilter_findings_total",
            "Detector findings by detector.",
            &["detector"],
        )?;

        let buckets = vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ];
        let policy_duration = HistogramVec::new(
            HistogramOpts::new(
                "wasmilter_policy_duration_seconds",
                "Policy evaluation time, instantiation included.",
            )
            .buckets(buckets.clone()),
            &["policy"],
        )?;
        registry.register(Box::new(policy_duration.clone()))?;
        let message_duration = HistogramVec::new(
            HistogramOpts::new(
                "wasmilter_message_duration_seconds",
                "End-of-message processing time by action.",
            )
            .buckets(buckets),
            &["action"],
        )?;
        registry.register(Box::new(message_duration.clone()))?;

        let in_flight = IntGauge::new("wasmilter_messages_in_flight", "Messages being processed.")?;
        registry.register(Box::new(in_flight.clone()))?;
        let internal_errors = IntCounter::new(
            "wasmilter_internal_errors_total",
            "Messages tempfailed by an internal error.",
        )?;
        registry.register(Box::new(internal_errors.clone()))?;
        let openpgp_addresses = IntGauge::new(
            "wasmilter_openpgp_addresses",
            "Recipient addresses with an OpenPGP certificate loaded.",
        )?;
        registry.register(Box::new(openpgp_addresses.clone()))?;
        let policy_memory_peak = IntGaugeVec::new(
            Opts::new(
                "wasmilter_policy_memory_peak_bytes",
                "Largest linear memory one instance of the policy used.",
            ),
            &["policy"],
        )?;
        registry.register(Box::new(policy_memory_peak.clone()))?;
        let reloads = counter(
            "wasmilter_reloads_total",
            "Config reloads (SIGHUP) by result.",
            &["result"],
        )?;
        for result in ["ok", "error"] {
            reloads.with_label_values(&[result]);
        }
        let build_info = IntGaugeVec::new(
            Opts::new("wasmilter_build_info", "Build information."),
            &["version"],
        )?;
        registry.register(Box::new(build_info.clone()))?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);

        // Make the common series visible from the start, at zero.
        for action in Action::ALL {
            messages.with_label_values(&[action.as_str()]);
        }
        for result in ["ok", "error", "no_key"] {
            encryptions.with_label_values(&["openpgp", result]);
        }

        Ok(Metrics {
            registry,
            messages,
            policy_duration,
            policy_verdicts,
            policy_errors,
            encryptions,
            findings,
            message_duration,
            in_flight,
            internal_errors,
            openpgp_addresses,
            policy_memory_peak,
            reloads,
        })
    }

    /// Makes the per-policy series visible at zero.
    pub fn register_policies(&self, names: &[&str]) {
        for name in names {
            self.policy_duration.with_label_values(&[name]);
            for kind in [
                ErrorKind::Trap,
                ErrorKind::Deadline,
                ErrorKind::Memory,
                ErrorKind::BadVerdict,
            ] {
                self.policy_errors.with_label_values(&[name, kind.as_str()]);
            }
        }
    }

    /// Records one policy's result.
    pub fn observe_policy(&self, result: &PolicyResult) {
        self.policy_duration
            .with_label_values(&[&result.name])
            .observe(result.elapsed.as_secs_f64());
        let peak = self.policy_memory_peak.with_label_values(&[&result.name]);
        let used = i64::try_from(result.memory_peak).unwrap_or(i64::MAX);
        if used > peak.get() {
            peak.set(used);
        }
        match &result.outcome {
            Ok(v) => {
                self.policy_verdicts
                    .with_label_values(&[&result.name, v.action.as_str()])
                    .inc();
                for f in &v.findings {
                    let detector = crate::dlp::DETECTORS
                        .iter()
                        .find(|d| **d == f.detector)
                        .copied()
                        .unwrap_or("other");
                    self.findings
                        .with_label_values(&[detector])
                        .inc_by(u64::from(f.count));
                }
            }
            Err((kind, _)) => self
                .policy_errors
                .with_label_values(&[&result.name, kind.as_str()])
                .inc(),
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!("cannot encode metrics: {e}");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Serves `/metrics` until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, metrics: Metrics) -> std::io::Result<()> {
    use axum::routing::get;

    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    metrics.render(),
                )
            }
        }),
    );
    axum::serve(listener, app).await
}

/// Binds the metrics listener.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_documented_series() {
        let m = Metrics::new().expect("metrics");
        m.register_policies(&["phi-dlp"]);
        m.messages.with_label_values(&["encrypt"]).inc();
        let text = m.render();
        assert!(
            text.contains("wasmilter_messages_total{action=\"encrypt\"} 1"),
            "{text}"
        );
        assert!(text.contains("wasmilter_build_info{version="));
        assert!(
            text.contains("wasmilter_policy_errors_total{kind=\"deadline\",policy=\"phi-dlp\"} 0"),
            "{text}"
        );
    }
}
