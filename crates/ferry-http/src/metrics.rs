//! The Prometheus recorder: one per process, shared by every front door
//! started in it (tests start several).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once) and returns its handle.
pub fn install_metrics() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ])
                .map(PrometheusBuilder::build_recorder);
            match recorder {
                Ok(r) => {
                    let handle = r.handle();
                    if metrics::set_global_recorder(r).is_err() {
                        tracing::warn!("a metrics recorder was already installed");
                    }
                    handle
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics buckets rejected; using defaults");
                    let r = PrometheusBuilder::new().build_recorder();
                    let handle = r.handle();
                    let _ = metrics::set_global_recorder(r);
                    handle
                }
            }
        })
        .clone()
}
