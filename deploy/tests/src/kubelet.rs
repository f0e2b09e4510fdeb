//! The Deployment's probes, run the way the kubelet runs them: the startup
//! probe every period until it succeeds (or fails `failureThreshold` times
//! in a row, when the kubelet would restart the container), and only then
//! readiness and liveness. An HTTP probe succeeds on a status from 200 to
//! 399 within its timeout.

use std::time::{Duration, Instant};

use crate::docker::Container;
use crate::manifests::{ContainerSettings, Probe};

/// An HTTP client that reports every status instead of failing on 4xx/5xx.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

/// One probe: the status, or None when there was no answer in time.
pub fn probe_status(container: &Container, probe: &Probe) -> Option<u16> {
    agent(probe.timeout)
        .get(container.url(&probe.path))
        .call()
        .ok()
        .map(|r| r.status().as_u16())
}

pub fn probe_succeeds(container: &Container, probe: &Probe) -> bool {
    probe_status(container, probe).is_some_and(|s| (200..400).contains(&s))
}

/// What the kubelet would conclude.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Started, then ready: how long each took from the container's start.
    Ready { started: Duration, ready: Duration },
    /// The startup probe failed `failureThreshold` times: a restart.
    StartupFailed { after: Duration },
    /// Started, but not ready within the window we watched.
    NotReady {
        started: Duration,
        watched: Duration,
    },
}

/// Runs the startup probe, then the readiness probe for at most `window`.
pub fn start(container: &Container, settings: &ContainerSettings, window: Duration) -> Outcome {
    let began = Instant::now();
    let startup = &settings.startup;
    std::thread::sleep(startup.initial_delay);
    let mut failures = 0;
    let started = loop {
        let tick = Instant::now();
        if probe_succeeds(container, startup) {
            break began.elapsed();
        }
        failures += 1;
        if failures >= startup.failure_threshold {
            return Outcome::StartupFailed {
                after: began.elapsed(),
            };
        }
        std::thread::sleep(startup.period.saturating_sub(tick.elapsed()));
    };

    let readiness = &settings.readiness;
    let watch_from = Instant::now();
    let mut successes = 0;
    while watch_from.elapsed() < window {
        let tick = Instant::now();
        if probe_succeeds(container, readiness) {
            successes += 1;
            if successes >= readiness.success_threshold {
                return Outcome::Ready {
                    started,
                    ready: began.elapsed(),
                };
            }
        } else {
            successes = 0;
        }
        std::thread::sleep(readiness.period.saturating_sub(tick.elapsed()));
    }
    Outcome::NotReady {
        started,
        watched: watch_from.elapsed(),
    }
}
