//! `ferry serve`: open the stores, bootstrap the operator, bind the
//! listeners, serve until SIGTERM/SIGINT, then shut down in order (stop
//! accepting, finish in-flight requests, flush the audit trail, close the
//! stores).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ferry_config::Settings;
use ferry_http::{FrontDoor, Limits, Service};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

fn init_tracing() {
    // s3s logs every S3 error answer (a 404 included) at ERROR; the audit
    // trail records those, and Ferry's own failures are logged by Ferry.
    let filter = EnvFilter::try_from_env("FERRY_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,s3s=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    init_tracing();
    let started = Instant::now();
    let blobs = crate::wiring::open_blobs(&settings).context("opening the blob store")?;
    let (ferry, audit_writer) = crate::wiring::open_ferry(&settings).await?;
    crate::wiring::ensure_operator(&ferry, &settings.data_dir).await?;
    let management = ferry.management_account().await?;

    let listener = TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("binding HTTP listener {}", settings.listen))?;
    // The SFTP port is held now so the contract's port is ours; the SFTP
    // server itself arrives with the Transfer Family channel.
    let sftp = TcpListener::bind(&settings.sftp_listen)
        .await
        .with_context(|| format!("binding SFTP listener {}", settings.sftp_listen))?;

    let services: Vec<Arc<dyn Service>> = vec![
        Arc::new(ferry_api_iam::Sts::new(ferry.clone())),
        Arc::new(ferry_api_iam::Iam::new(ferry.clone())),
        Arc::new(ferry_api_iam::Organizations::new(ferry.clone())),
        Arc::new(ferry_api_cloudtrail::CloudTrail::new(ferry.clone())),
        Arc::new(ferry_api_sqs::Sqs::new(ferry.clone())),
    ];
    let limits = Limits {
        max_body_bytes: settings.limits.max_body_bytes,
        max_header_bytes: settings.limits.max_header_bytes,
        body_timeout: Duration::from_secs(settings.limits.body_timeout_secs),
    };
    // S3 takes the streaming REST route; the same domains decide, in the
    // front door and in the adapter, which hosts are virtual-hosted buckets.
    let s3 = Arc::new(ferry_api_s3::S3Service::new(
        ferry.clone(),
        settings.domains.clone(),
    ));
    let door = Arc::new(
        FrontDoor::new(ferry.clone(), services, limits)
            .with_domains(settings.domains.clone())
            .with_rest(s3),
    );

    let http_stop = CancellationToken::new();
    let audit_stop = CancellationToken::new();
    let audit_task = tokio::spawn(audit_writer.run(management, audit_stop.clone()));
    let sftp_stop = http_stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = sftp_stop.cancelled() => break,
                conn = sftp.accept() => drop(conn),
            }
        }
    });
    // Background deliveries; handlers arrive with the channels that enqueue.
    let relay = ferry_workers::OutboxRelay::new(
        ferry.placement().clone(),
        Arc::new(ferry_core::clock::SystemClock),
        ferry_workers::RetryPolicy::default(),
    );
    let workers_stop = audit_stop.clone();
    let relay_task = tokio::spawn(ferry_workers::run(
        relay,
        Duration::from_millis(200),
        workers_stop.clone(),
    ));
    let collector = ferry_workers::BlobCollector::new(
        ferry.placement().clone(),
        blobs.clone(),
        Arc::new(ferry_core::clock::SystemClock),
    );
    let collect_task = tokio::spawn(ferry_workers::run(
        collector,
        Duration::from_secs(30),
        workers_stop.clone(),
    ));
    let sweeper = ferry_workers::BlobSweeper::new(
        ferry.placement().clone(),
        blobs,
        Duration::from_secs(600),
        Duration::from_secs(3600),
    );
    let sweep_task = tokio::spawn(ferry_workers::run(
        sweeper,
        Duration::from_secs(60),
        workers_stop.clone(),
    ));
    let expiry = ferry_workers::MessageExpiry::new(
        ferry.placement().clone(),
        Arc::new(ferry_core::clock::SystemClock),
    );
    let expiry_task = tokio::spawn(ferry_workers::run(
        expiry,
        Duration::from_secs(30),
        workers_stop,
    ));
    let mut server = tokio::spawn(ferry_http::serve(listener, door, http_stop.clone()));

    tracing::info!(
        listen = %settings.listen,
        sftp = %settings.sftp_listen,
        data_dir = %settings.data_dir.display(),
        management = %management,
        ready_ms = started.elapsed().as_millis() as u64,
        "ferry is ready; operator credentials are in {}",
        crate::wiring::operator_path(&settings.data_dir).display()
    );

    tokio::select! {
        _ = shutdown_signal() => {
            tracing::info!("shutting down: finishing in-flight requests");
            http_stop.cancel();
            let grace = Duration::from_secs(settings.limits.shutdown_grace_secs);
            if tokio::time::timeout(grace, &mut server).await.is_err() {
                tracing::warn!("in-flight requests still running after {grace:?}; stopping anyway");
                server.abort();
            }
        }
        r = &mut server => {
            r.context("HTTP server task")?.context("HTTP server")?;
        }
    }
    audit_stop.cancel();
    let _ = audit_task.await;
    let _ = relay_task.await;
    let _ = sweep_task.await;
    let _ = expiry_task.await;
    let _ = collect_task.await;
    ferry.placement().close().await;
    tracing::info!("stopped cleanly");
    Ok(())
}
