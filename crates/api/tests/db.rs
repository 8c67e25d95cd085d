//! Where a handler's database step runs (`catalyst_api::db`), on both backends.

mod common;

use std::time::Duration;

use catalyst_api::db;
use catalyst_store::StoreError;
use common::*;

/// The thread a step ran on, and how many tenants it saw.
async fn step(ctx: &Ctx) -> (std::thread::ThreadId, i64) {
    db::read(&ctx.db.store, |c| {
        Ok::<_, StoreError>((std::thread::current().id(), tenant_count(c)?))
    })
    .await
    .unwrap()
}

fn tenant_count(c: &mut catalyst_store::DbConnection) -> Result<i64, StoreError> {
    use catalyst_store::schema::tenants;
    use diesel::prelude::*;
    Ok(tenants::table.count().get_result(c)?)
}

api_test! {
    async fn a_step_runs_on_the_calling_worker_while_a_connection_is_idle(ctx) {
        ctx.tenant("acme");
        let (thread, tenants) = step(&ctx).await;
        assert_eq!(thread, std::thread::current().id());
        assert_eq!(tenants, 1);
    }

    async fn with_every_connection_taken_the_step_waits_off_the_worker(ctx) {
        ctx.tenant("acme");
        // The test store has 4 connections; hold them all.
        let held: Vec<_> = (0..4).map(|_| ctx.db.store.conn().unwrap()).collect();
        assert!(ctx.db.store.try_conn().is_none());
        let pending = step(&ctx);
        tokio::pin!(pending);
        // The step waits on the blocking pool while this worker goes on with other work.
        let free_worker = async {
            actix_web::rt::time::sleep(Duration::from_millis(150)).await;
            "worker free"
        };
        tokio::select! {
            _ = &mut pending => panic!("the step ran without a connection"),
            done = free_worker => assert_eq!(done, "worker free"),
        }
        drop(held);
        let (thread, tenants) = pending.await;
        assert_ne!(thread, std::thread::current().id());
        assert_eq!(tenants, 1);
    }
}
