//! `tx::on_commit`: a hook runs once its write transaction has committed (another connection
//! already sees the change), and never when the transaction rolls back.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use catalyst_store::*;
use common::*;

/// Whether another connection of the pool sees the tenant `id` committed.
fn committed(store: &Store, id: &catalyst_domain::TenantId) -> bool {
    store.read(|c| Tenant::find(c, id)).is_ok()
}

fn new_tenant(name: &str) -> Tenant {
    Tenant {
        id: id().into(),
        name: name.into(),
        demo: false,
        created_at: now(),
        updated_at: now(),
    }
}

catalyst_store::test_both! {
    fn hooks_run_after_commit_and_never_after_rollback(db) {
        // What each hook saw when it ran: the tenant it names, committed or not.
        let seen: Rc<RefCell<Vec<(catalyst_domain::TenantId, bool)>>> = Rc::default();

        let kept = new_tenant("kept");
        let (store, log, tid) = (db.store.clone(), seen.clone(), kept.id.clone());
        db.store
            .write(|c| {
                kept.insert(c)?;
                tx::on_commit(move || {
                    let visible = committed(&store, &tid);
                    log.borrow_mut().push((tid, visible));
                });
                // Registered, but the transaction has not committed: nothing ran yet.
                assert!(seen.borrow().is_empty());
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert_eq!(*seen.borrow(), vec![(kept.id.clone(), true)], "ran once, after the commit");

        let dropped = new_tenant("dropped");
        let log = seen.clone();
        let rolled_back: Result<(), StoreError> = db.store.write(|c| {
            dropped.insert(c)?;
            let id = dropped.id.clone();
            tx::on_commit(move || log.borrow_mut().push((id, true)));
            Err(StoreError::StateConflict)
        });
        assert!(rolled_back.is_err());
        assert!(!committed(&db.store, &dropped.id));
        assert_eq!(seen.borrow().len(), 1, "the rolled-back transaction's hook never ran");

        // Nor does it run with the next transaction that commits.
        let next = new_tenant("next");
        db.store.write(|c| next.insert(c)).unwrap();
        assert_eq!(seen.borrow().len(), 1);
    }
}
