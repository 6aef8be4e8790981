//! `wasmilter run`: binds the milter and metrics sockets, serves the MTA, reloads on SIGHUP and
//! stops cleanly on SIGTERM or SIGINT (messages in flight finish first).

use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use tokio::net::{TcpListener, UnixListener};
use tokio::signal::unix::{SignalKind, signal};

use crate::actions::openpgp::CertStore;
use crate::audit::AuditLog;
use crate::config::{Config, ListenAddr};
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::policy::Runtime;
use crate::session::{self, Shared};

/// Builds the pipeline (policy chain and certificates) for a config.
pub fn build_pipeline(runtime: &Runtime, config: &Config) -> anyhow::Result<Pipeline> {
    let chain = runtime.load_chain(&config.policies)?;
    let certs = match &config.openpgp_certs {
        Some(dir) => CertStore::load(dir)?,
        None => CertStore::empty(),
    };
    Ok(Pipeline {
        scanner: runtime.scanner().clone(),
        chain,
        certs: Arc::new(certs),
    })
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(config: Config) -> anyhow::Result<()> {
    // Signal handlers first: a SIGHUP during startup must not kill the daemon.
    let hup = signal(SignalKind::hangup()).context("cannot install the SIGHUP handler")?;
    let runtime = Runtime::new(config.cache_dir.as_deref())?;
    let pipeline = build_pipeline(&runtime, &config)?;
    let metrics = Metrics::new().context("cannot register metrics")?;
    metrics.register_policies(&pipeline.chain.names());
    metrics
        .openpgp_addresses
        .set(pipeline.certs.addresses() as i64);
    let audit = AuditLog::open(&config.audit)?;

    tracing::info!(
        "policies: {}; openpgp certificates for {} address(es){}",
        pipeline.chain.names().join(", "),
        pipeline.certs.addresses(),
        config
            .openpgp_certs
            .as_ref()
            .map(|d| format!(" from {}", d.display()))
            .unwrap_or_default(),
    );

    // Metrics first: a port that is taken is a startup error the postmaster must see.
    if let Some(addr) = config.metrics_listen {
        let listener = crate::metrics::bind(addr)
            .await
            .with_context(|| format!("cannot bind the metrics address {addr}"))?;
        let m = metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::metrics::serve(listener, m).await {
                tracing::error!("metrics endpoint stopped: {e}");
            }
        });
        tracing::info!("metrics on http://{addr}/metrics");
    }

    let shared = Arc::new(Shared {
        pipeline: RwLock::new(Arc::new(pipeline)),
        metrics,
        audit,
        spool_memory_bytes: config.spool_memory_bytes,
        spool_dir: config.spool_dir.clone(),
        max_message_bytes: config.max_message_bytes,
    });

    spawn_reloader(hup, runtime, config.clone(), shared.clone());

    let mut term = signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: finishing messages in flight, then exiting"),
            _ = int.recv() => tracing::info!("SIGINT: finishing messages in flight, then exiting"),
        }
    };

    let callbacks = session::callbacks(shared);
    let milter_config = indymilter::Config::default();
    match &config.listen {
        ListenAddr::Inet(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot bind the milter address {addr}"))?;
            tracing::info!("milter on inet:{}", listener.local_addr()?);
            indymilter::run(listener, callbacks, milter_config, shutdown).await?;
        }
        ListenAddr::Unix(path) => {
            if path.exists() {
                std::fs::remove_file(path).with_context(|| {
                    format!("cannot remove the stale socket {}", path.display())
                })?;
            }
            let listener = UnixListener::bind(path)
                .with_context(|| format!("cannot bind the milter socket {}", path.display()))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
                .with_context(|| format!("cannot set the mode of {}", path.display()))?;
            tracing::info!("milter on unix:{}", path.display());
            let result = indymilter::run(listener, callbacks, milter_config, shutdown).await;
            let _ = std::fs::remove_file(path);
            result?;
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// On SIGHUP: reread the config file, recompile the chain and reload the certificates in the
/// background; swap them in only when all of it worked. Messages in flight keep the pipeline
/// they started with. Listener addresses are not changed by a reload (that needs a restart).
fn spawn_reloader(
    mut hup: tokio::signal::unix::Signal,
    runtime: Runtime,
    config: Config,
    shared: Arc<Shared>,
) {
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let source = config.source.clone();
            let runtime = runtime.clone();
            let embedded = source.as_os_str() == "<default>";
            let result = tokio::task::spawn_blocking(move || -> anyhow::Result<Pipeline> {
                let new = if embedded {
                    Config::embedded_default()?
                } else {
                    Config::load(&source)?
                };
                build_pipeline(&runtime, &new)
            })
            .await;
            match result {
                Ok(Ok(pipeline)) => {
                    shared.metrics.register_policies(&pipeline.chain.names());
                    shared
                        .metrics
                        .openpgp_addresses
                        .set(pipeline.certs.addresses() as i64);
                    let names = pipeline.chain.names().join(", ");
                    if let Ok(mut current) = shared.pipeline.write() {
                        *current = Arc::new(pipeline);
                        shared.metrics.reloads.with_label_values(&["ok"]).inc();
                        tracing::info!("reloaded: policies {names}");
                    }
                }
                Ok(Err(e)) => {
                    shared.metrics.reloads.with_label_values(&["error"]).inc();
                    tracing::warn!("reload failed, keeping the running policies: {e:#}");
                }
                Err(e) => {
                    shared.metrics.reloads.with_label_values(&["error"]).inc();
                    tracing::warn!("reload failed, keeping the running policies: {e}");
                }
            }
        }
    });
}
