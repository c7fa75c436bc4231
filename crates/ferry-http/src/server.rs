use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::serve::ListenerExt;
use ferry_core::Ferry;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{RestService, Service};

/// Size and time limits on requests.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest body of a buffered (query/JSON) request.
    pub max_body_bytes: usize,
    /// Largest header section.
    pub max_header_bytes: usize,
    /// How long a client may take to send a buffered (query/JSON) body;
    /// for a streaming (REST) body, the longest pause between two pieces
    /// (a large object may take as long as it needs while data flows).
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 10 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// The front door: the domain, the adapters, the limits.
pub struct FrontDoor {
    pub(crate) ferry: Arc<Ferry>,
    pub(crate) services: Vec<Arc<dyn Service>>,
    pub(crate) limits: Limits,
    pub(crate) metrics: PrometheusHandle,
    pub(crate) rest: Option<Arc<dyn RestService>>,
    pub(crate) domains: Vec<String>,
}

impl FrontDoor {
    /// A front door over `ferry` serving `services`.
    pub fn new(ferry: Arc<Ferry>, services: Vec<Arc<dyn Service>>, limits: Limits) -> Self {
        FrontDoor {
            ferry,
            services,
            limits,
            metrics: crate::install_metrics(),
            rest: None,
            domains: vec!["localhost".to_string()],
        }
    }

    /// Serves `rest` (S3) on the streaming REST route: requests signed for
    /// its signing name, requests to a subdomain of the configured domains,
    /// and unauthenticated requests that are not query/JSON calls.
    pub fn with_rest(mut self, rest: Arc<dyn RestService>) -> Self {
        self.rest = Some(rest);
        self
    }

    /// The base domains of virtual-hosted requests (`BUCKET.<domain>`,
    /// `NAME-ACCOUNT.<domain>`, `ACCOUNT.<domain>`); Ferry's `--domain`.
    /// `localhost` until set.
    pub fn with_domains(mut self, domains: Vec<String>) -> Self {
        self.domains = domains
            .into_iter()
            .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        self
    }

    pub(crate) fn by_signing_name(&self, name: &str) -> Option<&Arc<dyn Service>> {
        self.services.iter().find(|s| s.signing_name() == name)
    }

    pub(crate) fn by_target_prefix(&self, prefix: &str) -> Option<&Arc<dyn Service>> {
        self.services.iter().find(|s| {
            matches!(s.protocol(), crate::Protocol::Json { target_prefix, .. } if target_prefix == prefix)
        })
    }
}

async fn entry(
    State(door): State<Arc<FrontDoor>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    crate::dispatch::handle(door, remote, req).await
}

/// Serves `door` on `listener` until `shutdown`; then stops accepting and
/// waits for in-flight requests to finish.
pub async fn serve(
    listener: TcpListener,
    door: Arc<FrontDoor>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = Router::new().fallback(entry).with_state(door);
    // Without TCP_NODELAY an answer written in two pieces (head, then a
    // small body) waits for the client's delayed ACK: ~40 ms a GET.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY on a connection: {e}");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
}
