//! Claiming a session for payment, with and without an in-process outcome, on SQLite and on
//! PostgreSQL.

mod common;

use catalyst_domain::DuplicatePolicy;
use catalyst_domain::status::SessionStatus;
use catalyst_domain::transaction::{SequenceType, TransactionKind, TransactionStatus};
use catalyst_store::sandbox_ledger::SandboxEntry;
use catalyst_store::session_pay::{ClaimError, PaymentDraft};
use catalyst_store::settlement::Settlement;
use catalyst_store::*;
use chrono::Duration;
use common::*;

/// A new PENDING session (with its order and lead) on a sandbox gateway; its token.
fn pending_session(store: &Store) -> (String, String) {
    let t = tenant(store);
    let g = gateway(store, &t.id, "sandbox");
    let s = session(&t.id, &g.id, Duration::hours(1));
    let o = order(&t.id, &order_number());
    let l = lead(&t.id, &format!("{}@example.com", id()));
    let mut conn = store.conn().unwrap();
    let created = catalyst_store::checkout::create_session(
        &mut conn,
        l,
        DuplicatePolicy::Reuse,
        s,
        o,
        order_number,
    )
    .unwrap();
    (created.session.token, t.id.into_string())
}

/// A mandate and a pending one-off transaction for the claimed session.
fn draft(s: &PaymentSession, o: &Order, l: &Lead) -> Result<PaymentDraft, StoreError> {
    let at = now();
    let mandate = Mandate {
        id: id().into(),
        tenant_id: s.tenant_id.clone(),
        lead_id: l.id.clone(),
        customer_id: None,
        reference: format!("MAND-{}", o.order_number),
        iban_sealed: "sealed".into(),
        iban_last4: "3000".into(),
        iban_country: "DE".into(),
        bic: None,
        bank_name: None,
        holder_sealed: "sealed".into(),
        sequence_type: SequenceType::First,
        signed_at: at,
        created_at: at,
        updated_at: at,
        iban_masked: "******************3000".into(),
        gateway_reference: None,
        revoked_at: None,
        mandate_text: Some("By signing this mandate form, you authorise (A) Demo".into()),
        mandate_locale: Some("en".into()),
    };
    let transaction = Transaction {
        session_id: Some(s.id.clone()),
        merchant_transaction_id: format!("TXN-20261121-{}", &id()[28..].to_uppercase()),
        ..Transaction::pending(
            NewTransaction {
                tenant_id: s.tenant_id.clone(),
                order_id: o.id.clone(),
                gateway_id: s.gateway_id.clone(),
                mandate_id: mandate.id.clone(),
                kind: TransactionKind::Sale,
                sequence_type: SequenceType::First,
                amount_minor: s.amount_minor,
                currency: s.currency.clone(),
            },
            at,
        )
    };
    Ok(PaymentDraft {
        mandate,
        transaction: Some(transaction),
        customer: None,
    })
}

/// The stored session, its latest transaction and how many webhook events exist.
fn stored(store: &Store, token: &str) -> (PaymentSession, Option<Transaction>, i64) {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    store
        .read(|c| {
            let s = PaymentSession::find_by_token(c, token)?;
            let t = s.latest_transaction(c)?;
            let events = diesel::sql_query("SELECT COUNT(*) AS n FROM webhook_events")
                .get_result::<N>(&mut *c)?
                .n;
            Ok::<_, StoreError>((s, t, events))
        })
        .unwrap()
}

test_both! {
    fn a_settlement_is_never_processed_before_its_transaction_was_created(db) {
        // The transaction's created_at and the settlement's now can come from two clock
        // readings; the later one stamped first must not put processed_at before created_at.
        let declined = Settlement::Declined {
            reference: None,
            code: "insufficient_funds".into(),
            message: "Insufficient funds".into(),
            gateway_code: None,
            gateway_message: None,
            counts_as_attempt: true,
        };
        for outcome in [Settlement::Approved { reference: "sbx_a".into() }, declined] {
            let (token, _) = pending_session(&db.store);
            let at = now();
            let created = at + Duration::microseconds(200);
            let stamped_later = |s: &PaymentSession, o: &Order, l: &Lead| {
                let mut d = draft(s, o, l)?;
                d.transaction.as_mut().unwrap().created_at = created;
                Ok(d)
            };
            let mut conn = db.store.conn().unwrap();
            let (_, settled) = catalyst_store::session_pay::claim_and_settle(&mut conn, &token, at, stamped_later, |_, _| {
                Ok::<_, ClaimError>(Some(outcome.clone()))
            })
            .unwrap();
            drop(conn);
            let answered = settled.unwrap().transaction;
            let stored = stored(&db.store, &token).1.unwrap();
            for t in [answered, stored] {
                assert_eq!(t.created_at, created);
                assert!(t.processed_at.unwrap() >= t.created_at, "{:?} < {:?}", t.processed_at, t.created_at);
            }
        }
    }

    fn an_in_process_outcome_commits_with_its_claim(db) {
        let (token, _) = pending_session(&db.store);
        let before = stored(&db.store, &token).2;
        let mut conn = db.store.conn().unwrap();
        let (claimed, settled) = catalyst_store::session_pay::claim_and_settle(&mut conn, &token, now(), draft, |_, c| {
            assert_eq!(c.session.status, SessionStatus::PaymentInProgress, "called on the claimed rows");
            Ok::<_, ClaimError>(Some(Settlement::Approved { reference: "sbx_1".into() }))
        })
        .unwrap();
        drop(conn);
        let settled = settled.expect("settled in the claim's transaction");
        assert_eq!((settled.session.status.as_str(), settled.transaction.status.as_str()), ("COMPLETED", "approved"));
        assert_eq!(claimed.transaction.unwrap().status, TransactionStatus::Pending, "the claim's own row");
        let (session, transaction, events) = stored(&db.store, &token);
        let transaction = transaction.unwrap();
        assert_eq!((session.status.as_str(), transaction.status.as_str()), ("COMPLETED", "approved"));
        assert_eq!(transaction.gateway_reference.as_deref(), Some("sbx_1"));
        // transaction.created, transaction.status_changed, payment_session.completed
        assert_eq!(events - before, 3);
    }

    fn a_failing_outcome_rolls_the_claim_back(db) {
        let (token, _) = pending_session(&db.store);
        let before = stored(&db.store, &token).2;
        let mut conn = db.store.conn().unwrap();
        let mut recorded = None;
        let result = catalyst_store::session_pay::claim_and_settle(&mut conn, &token, now(), draft, |c, claimed| {
            // The in-process gateway recorded the debit in the claim's transaction, then failed.
            let entry = sandbox_entry(&claimed.transaction.as_ref().unwrap().merchant_transaction_id, "sbx_rolled_back");
            entry.insert(c)?;
            recorded = Some(entry.transaction_id);
            Err::<Option<Settlement>, _>(ClaimError::Store(StoreError::Corrupt("broken gateway".into())))
        });
        drop(conn);
        assert!(matches!(result, Err(ClaimError::Store(StoreError::Corrupt(_)))));
        let recorded = recorded.unwrap();
        assert_eq!(db.store.read(|c| SandboxEntry::by_transaction(c, &recorded)).unwrap(), None,
                   "the gateway's record rolls back with the claim");
        let (session, transaction, events) = stored(&db.store, &token);
        assert_eq!((session.status.as_str(), session.version), ("PENDING", 0));
        assert!(transaction.is_none());
        assert_eq!(events, before, "no event of the rolled-back claim");
        // The session can still be paid.
        let mut conn = db.store.conn().unwrap();
        let (_, settled) = catalyst_store::session_pay::claim_and_settle(&mut conn, &token, now(), draft, |_, _| {
            Ok::<_, ClaimError>(Some(Settlement::Approved { reference: "sbx_2".into() }))
        })
        .unwrap();
        assert_eq!(settled.unwrap().session.status, SessionStatus::Completed);
    }

    fn the_sandbox_ledger_finds_counts_and_bounds_refunds(db) {
        let debit = sandbox_entry("TXN-1", "sbx_1");
        let mut renewal = sandbox_entry("TXN-2", "sbx_2");
        renewal.renewal_of = Some("sbx_1".into());
        db.store.write(|c| { debit.insert(c)?; renewal.insert(c) }).unwrap();
        assert_eq!(db.store.read(|c| SandboxEntry::by_reference(c, "sbx_2")).unwrap(), Some(renewal.clone()));
        assert_eq!(db.store.read(|c| SandboxEntry::renewals(c, "sbx_1")).unwrap(), 1);
        assert_eq!(db.store.read(|c| SandboxEntry::renewals(c, "sbx_2")).unwrap(), 0);
        // A reference is unique.
        let taken = sandbox_entry("TXN-3", "sbx_1");
        assert!(matches!(db.store.write(|c| taken.insert(c)), Err(StoreError::Conflict(_))));
        // Refunds add up to the amount, not beyond.
        assert!(db.store.write(|c| SandboxEntry::add_refunded(c, "TXN-1", 1000)).unwrap());
        assert!(!db.store.write(|c| SandboxEntry::add_refunded(c, "TXN-1", 235)).unwrap());
        assert!(db.store.write(|c| SandboxEntry::add_refunded(c, "TXN-1", 234)).unwrap());
        assert_eq!(db.store.read(|c| SandboxEntry::by_transaction(c, "TXN-1")).unwrap().unwrap().refunded_minor, 1234);
        // Verification: the new outcome, and nothing left to verify.
        let mut verified = renewal.clone();
        verified.status = catalyst_domain::transaction::OutcomeStatus::Declined;
        verified.decline_code = Some("mandate_rejected".into());
        verified.gateway_code = Some("MS02".into());
        db.store.write(|c| verified.set_outcome(c)).unwrap();
        let after = db.store.read(|c| SandboxEntry::by_transaction(c, "TXN-2")).unwrap().unwrap();
        assert_eq!((after.status.as_str(), after.gateway_code.as_deref(), after.verify_decline), ("declined", Some("MS02"), None));
    }

    fn a_network_gateway_gets_only_the_claim(db) {
        let (token, _) = pending_session(&db.store);
        let mut conn = db.store.conn().unwrap();
        let (claimed, settled) = catalyst_store::session_pay::claim_and_settle(&mut conn, &token, now(), draft, |_, _| {
            Ok::<_, ClaimError>(None)
        })
        .unwrap();
        assert!(settled.is_none());
        let (session, transaction, _) = stored(&db.store, &token);
        assert_eq!((session.status.as_str(), transaction.unwrap().status.as_str()), ("PAYMENT_IN_PROGRESS", "pending"));
        // A second payer is turned away; the outcome arrives later from the claim's rows.
        let again = catalyst_store::session_pay::claim_and_settle(&mut conn, &token, now(), draft, |_, _| {
            Ok::<_, ClaimError>(None)
        });
        assert!(matches!(again, Err(ClaimError::NotPayable)));
        let settled = catalyst_store::session_pay::settle_claimed(&mut conn, &claimed, &Settlement::Approved { reference: "emp_1".into() }, now()).unwrap();
        assert_eq!(settled.session.status, SessionStatus::Completed);
    }
}

/// The SQL texts a connection runs, as diesel's instrumentation reports them (binds cut off).
fn record_statements(conn: &mut DbConnection) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    use diesel::Connection;
    use diesel::connection::InstrumentationEvent;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let text = query.to_string();
            let sql = text
                .split(" -- binds:")
                .next()
                .unwrap_or_default()
                .to_owned();
            sink.lock().unwrap().push(sql);
        }
    });
    seen
}

/// Whether a plan's filter compares an `id` column (`id = $1`, `s.lead_id = l.id`): the row is
/// then found by reading others, not by its key.
fn filters_on_an_id(filter: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '"';
    filter.match_indices(" = ").any(|(at, _)| {
        let left: String = filter[..at]
            .chars()
            .rev()
            .take_while(|&c| ident(c))
            .collect();
        let left: String = left.chars().rev().collect();
        let right: String = filter[at + 3..].chars().take_while(|&c| ident(c)).collect();
        [left, right]
            .iter()
            .any(|side| side.rsplit('.').next().map(|c| c.trim_matches('"')) == Some("id"))
    })
}

#[test]
fn an_id_filter_is_recognised() {
    assert!(filters_on_an_id("Filter: (id = $2)"));
    assert!(filters_on_an_id(
        "Join Filter: (payment_sessions.lead_id = leads.id)"
    ));
    assert!(filters_on_an_id("Filter: (payment_sessions.lead_id = id)"));
    assert!(!filters_on_an_id(
        "Filter: ((status = $5) AND (version = $6))"
    ));
    assert!(!filters_on_an_id("Filter: (payment_sessions.lead_id = $1)"));
}

test_both! {
    fn statements_prepared_on_empty_tables_find_rows_by_key(db) {
        // PostgreSQL keeps a prepared statement's generic plan for the connection's life, and a
        // plan made while the tables were empty must not turn into a scan as they grow: every
        // lookup by id has to go through an index on it. SQLite plans from the schema; there a
        // full scan of any table is the failure.
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Prepared {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            statement: String,
            #[diesel(sql_type = diesel::sql_types::Integer)]
            params: i32,
        }
        #[derive(QueryableByName)]
        struct PgLine {
            #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
            line: String,
        }
        #[derive(QueryableByName)]
        struct LiteLine {
            #[diesel(sql_type = diesel::sql_types::Text)]
            detail: String,
        }

        let t = tenant(&db.store);
        let g = gateway(&db.store, &t.id, "sandbox");
        let mut slot = db.store.conn().unwrap();
        let conn: &mut DbConnection = &mut slot;
        let postgres = matches!(conn, DbConnection::Postgres(_));
        if postgres {
            diesel::sql_query("SET plan_cache_mode = force_generic_plan").execute(conn).unwrap();
        }
        let seen = record_statements(conn);
        let declined = Settlement::Declined {
            reference: Some("sbx_d".into()),
            code: "insufficient_funds".into(),
            message: "Insufficient funds".into(),
            gateway_code: None,
            gateway_message: None,
            counts_as_attempt: true,
        };
        for outcome in [Settlement::Approved { reference: "sbx_a".into() }, declined] {
            let created = catalyst_store::checkout::create_session(
                conn,
                lead(&t.id, &format!("{}@example.com", id())),
                DuplicatePolicy::Reuse,
                session(&t.id, &g.id, Duration::hours(1)),
                order(&t.id, &order_number()),
                order_number,
            )
            .unwrap();
            Gateway::find(conn, &t.id, &g.id).unwrap();
            Lead::find(conn, &t.id, &created.lead.id).unwrap();
            let (claimed, _) = catalyst_store::session_pay::claim_and_settle(conn, &created.session.token, now(), draft, |_, _| {
                Ok::<_, ClaimError>(Some(outcome.clone()))
            })
            .unwrap();
            let t_id = claimed.transaction.unwrap().id;
            Transaction::find(conn, &t.id, &t_id).unwrap();
        }
        catalyst_store::recovery::claim_next(conn, now(), now(), Duration::seconds(60)).unwrap();
        catalyst_store::recovery::reschedule(conn, &id().into(), 1, now()).unwrap();
        catalyst_store::checkout::expire_due_sessions(conn, now(), 10).unwrap();
        catalyst_store::outbox::claim_due(conn, now(), Duration::seconds(30), 10).unwrap();
        // A due delivery whose endpoint went inactive (cancelled by the claim), and the
        // cancellations of a deactivation.
        let (profile, endpoints) = profile_with_endpoints(&db.store, &t.id, &[None]);
        emit(&db.store, &t.id, Some(&profile.id), "order.created");
        emit(&db.store, &t.id, Some(&profile.id), "order.created");
        {
            use catalyst_store::schema::webhook_endpoints;
            diesel::update(webhook_endpoints::table.find(&endpoints[0].id)).set(webhook_endpoints::active.eq(false)).execute(conn).unwrap();
        }
        assert!(catalyst_store::outbox::claim_due(conn, now(), Duration::seconds(30), 1).unwrap().is_empty());
        catalyst_store::outbox::cancel_pending_of_endpoint(conn, &endpoints[0].id, now()).unwrap();
        catalyst_store::outbox::cancel_pending_of_profile(conn, &profile.id, now()).unwrap();

        let mut checked = 0;
        if postgres {
            let prepared: Vec<Prepared> = diesel::sql_query(
                "SELECT name, statement, COALESCE(cardinality(parameter_types), 0) AS params \
                 FROM pg_prepared_statements",
            )
            .load(conn)
            .unwrap();
            for p in prepared {
                let nulls = vec!["NULL"; p.params as usize].join(", ");
                let plan: Vec<PgLine> = diesel::sql_query(format!("EXPLAIN EXECUTE {}({nulls})", p.name))
                    .load(conn)
                    .unwrap();
                let plan: Vec<String> = plan.into_iter().map(|l| l.line).collect();
                let bad = plan.iter().any(|l| l.contains("Seq Scan") || (l.contains("Filter:") && filters_on_an_id(l)));
                assert!(!bad, "{}\n{}", p.statement, plan.join("\n"));
                checked += 1;
            }
        } else {
            let statements = seen.lock().unwrap().clone();
            for sql in statements.iter().filter(|s| s.starts_with("SELECT") || s.starts_with("UPDATE")) {
                let plan: Vec<LiteLine> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                    .load(conn)
                    .unwrap();
                let bad = plan.iter().any(|l| l.detail.starts_with("SCAN ") && l.detail != "SCAN CONSTANT ROW");
                let lines: Vec<&str> = plan.iter().map(|l| l.detail.as_str()).collect();
                assert!(!bad, "{sql}\n{}", lines.join("\n"));
                checked += 1;
            }
        }
        assert!(checked >= 15, "only {checked} statements checked");
    }
}

test_both! {
    fn a_merchant_transaction_id_drawn_twice_is_drawn_again(db) {
        // 32 random bits per day: a busy day repeats one. The second claim must still succeed,
        // under a new id, and answer with the id it stored.
        let taken = "TXN-20261121-0000BEEF";
        let with_taken_id = |s: &PaymentSession, o: &Order, l: &Lead| {
            let mut d = draft(s, o, l)?;
            d.transaction.as_mut().unwrap().merchant_transaction_id = taken.into();
            Ok(d)
        };
        let mut ids = Vec::new();
        for _ in 0..2 {
            let (token, _) = pending_session(&db.store);
            let mut conn = db.store.conn().unwrap();
            let (claimed, _) = catalyst_store::session_pay::claim_and_settle(&mut conn, &token, now(), with_taken_id, |_, _| {
                Ok::<_, ClaimError>(None)
            })
            .unwrap();
            drop(conn);
            let stored = stored(&db.store, &token).1.unwrap();
            let claimed = claimed.transaction.unwrap();
            assert_eq!(claimed.merchant_transaction_id, stored.merchant_transaction_id);
            ids.push(stored.merchant_transaction_id);
        }
        assert_eq!(ids[0], taken);
        assert_ne!(ids[1], taken);
        assert!(ids[1].starts_with("TXN-") && ids[1].len() == taken.len(), "{}", ids[1]);
    }
}

/// A sandbox debit awaiting verification, as the gateway records it.
fn sandbox_entry(transaction_id: &str, reference: &str) -> SandboxEntry {
    SandboxEntry {
        transaction_id: transaction_id.into(),
        reference: reference.into(),
        is_refund: false,
        status: catalyst_domain::transaction::OutcomeStatus::VerificationRequired,
        verification_url: Some(format!(
            "https://pay.example.com/sandbox/verify/{reference}"
        )),
        decline_code: None,
        gateway_code: None,
        gateway_message: None,
        verify_decline: Some("MS02".into()),
        amount_minor: 1234,
        refunded_minor: 0,
        test_iban: Some("DE65100000000000000701".into()),
        renewal_of: None,
        created_at: now(),
    }
}
