//! The probes: `GET /healthz` (the process answers) and `GET /readyz` (the database answers, its
//! schema is this build's, and every background worker started in this process has reported a
//! heartbeat recently). Both are unauthenticated, read nothing of any tenant, and cost at most
//! two small queries.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use catalyst_store::migrations;
use serde_json::json;

use crate::db;
use crate::state::AppState;

/// The background workers' last heartbeats.
#[derive(Debug, Default)]
pub struct Heartbeats {
    workers: Mutex<BTreeMap<&'static str, Beat>>,
}

#[derive(Debug, Clone, Copy)]
struct Beat {
    at: Instant,
    stale_after: Duration,
}

/// How a worker looks to the readiness probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerHealth {
    /// The worker's name (`expiry`, `recovery`, `billing`, `dispatcher`).
    pub name: &'static str,
    /// Whether its last heartbeat is recent enough.
    pub alive: bool,
    /// Seconds since its last heartbeat.
    pub age_secs: u64,
}

impl Heartbeats {
    /// Records that `worker` is alive; it counts as dead when no further beat comes within
    /// `stale_after` (a few of its cycles, plus the longest a cycle may take).
    pub fn beat(&self, worker: &'static str, stale_after: Duration) {
        let beat = Beat {
            at: Instant::now(),
            stale_after,
        };
        self.lock().insert(worker, beat);
    }

    /// Every worker that has beaten at least once, by name.
    pub fn workers(&self) -> Vec<WorkerHealth> {
        self.lock()
            .iter()
            .map(|(name, beat)| {
                let age = beat.at.elapsed();
                WorkerHealth {
                    name,
                    alive: age <= beat.stale_after,
                    age_secs: age.as_secs(),
                }
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, Beat>> {
        // A panic while holding this lock cannot leave the map half-written.
        self.workers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How long a worker that runs every `every` may go without a heartbeat: three missed cycles,
/// plus ten minutes for one slow cycle (a billing run over many renewals, a recovery batch
/// against a slow gateway).
pub fn allowance(every: Duration) -> Duration {
    every.saturating_mul(3) + Duration::from_secs(600)
}

/// `GET /healthz`: `200 {"status": "ok"}` while the process serves requests.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: `200 {"status": "ready", "checks": …}`, or `503 {"status": "not_ready",
/// "checks": …}` naming what failed (database unreachable, migrations pending, a worker whose
/// heartbeat is stale).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let schema = db::read(&state.store, migrations::has_pending).await;
    let (database, migrations) = match schema {
        Ok(false) => ("ok", "ok"),
        Ok(true) => ("ok", "pending"),
        Err(_) => ("unreachable", "unknown"),
    };
    let workers = state.health.workers();
    let ready = database == "ok" && migrations == "ok" && workers.iter().all(|w| w.alive);
    let workers: BTreeMap<_, _> = workers
        .iter()
        .map(|w| {
            let status = if w.alive { "ok" } else { "stale" };
            (
                w.name,
                json!({"status": status, "last_beat_secs": w.age_secs}),
            )
        })
        .collect();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {"database": database, "migrations": migrations, "workers": workers},
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_is_alive_until_its_allowance_runs_out() {
        let beats = Heartbeats::default();
        assert!(beats.workers().is_empty());
        beats.beat("expiry", Duration::from_secs(60));
        beats.beat("billing", Duration::ZERO);
        std::thread::sleep(Duration::from_millis(5));
        let workers = beats.workers();
        assert_eq!(workers.len(), 2);
        assert_eq!(workers[0].name, "billing");
        assert!(!workers[0].alive);
        assert_eq!(workers[1].name, "expiry");
        assert!(workers[1].alive);
    }
}
