//! The SANDBOX adapter: the whole IBAN table of API.md §8, idempotency, verification,
//! reconcile and refunds.

use std::sync::Arc;

use catalyst_domain::money::{Currency, Money};
use catalyst_domain::secret::Secret;
use catalyst_gateway::sandbox::{SANDBOX_IBANS, SandboxBehavior};
use catalyst_gateway::{
    DebitKind, DebitRequest, GatewayAdapter, GatewayError, GatewayOutcome, LaterKind, MemoryLedger,
    ReconcileRequest, RefundRequest, SandboxAdapter, later_outcome,
};
use catalyst_sepa::DeclineCode;

const PUBLIC_URL: &str = "https://pay.example.com/";

fn adapter(state: &MemoryLedger, requires_verification: bool) -> SandboxAdapter {
    SandboxAdapter::new(Arc::new(state.clone()), PUBLIC_URL, requires_verification)
}

fn debit(txn: &str, iban: &str) -> DebitRequest {
    let mut req = DebitRequest::example(txn);
    req.iban = Some(Secret::new(iban.to_owned()));
    req
}

fn by_txn(txn: &str) -> ReconcileRequest {
    ReconcileRequest {
        transaction_id: txn.to_owned(),
        reference: None,
    }
}

fn assert_reference(reference: &str) {
    let hex = reference.strip_prefix("sbx_").expect("sbx_ prefix");
    assert_eq!(hex.len(), 32, "{reference}");
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
}

/// What API.md §8 says each IBAN gives at debit time and after verify:
/// (iban, decline code at debit, gateway code, verify result).
#[derive(Debug)]
enum Expect {
    Approved,
    Declined(DeclineCode, &'static str),
    Unreachable,
    Verification(Option<(DeclineCode, &'static str)>),
}

const TABLE: [(&str, Expect); 15] = [
    ("DE89370400440532013000", Expect::Approved),
    ("GB82WEST12345698765432", Expect::Approved),
    (
        "DE91100000000123456789",
        Expect::Declined(DeclineCode::InsufficientFunds, "AM04"),
    ),
    (
        "DE66100000000000000101",
        Expect::Declined(DeclineCode::InvalidIban, "AC01"),
    ),
    (
        "DE17100000000000000401",
        Expect::Declined(DeclineCode::AccountClosed, "AC04"),
    ),
    (
        "DE49100000000000000601",
        Expect::Declined(DeclineCode::MandateRejected, "MD01"),
    ),
    (
        "DE71100000000000000302",
        Expect::Declined(DeclineCode::DoNotHonor, "MS03"),
    ),
    ("DE76100000000000000503", Expect::Unreachable),
    (
        "DE70100000000000000999",
        Expect::Declined(DeclineCode::Unknown, "XX99"),
    ),
    ("DE92100000000000000700", Expect::Verification(None)),
    (
        "DE65100000000000000701",
        Expect::Verification(Some((DeclineCode::MandateRejected, "MS02"))),
    ),
    ("DE43100000000000000806", Expect::Approved),
    ("DE98100000000000000204", Expect::Approved),
    // Their refunds are declined; their first renewal is declined: debits are approved.
    ("DE87100000000000000402", Expect::Approved),
    ("DE71100000000000000205", Expect::Approved),
];

#[test]
fn the_test_table_covers_the_sandbox_table() {
    let ours: Vec<&str> = TABLE.iter().map(|(iban, _)| *iban).collect();
    let theirs: Vec<&str> = SANDBOX_IBANS.iter().map(|row| row.iban).collect();
    assert_eq!(ours, theirs);
}

#[tokio::test]
async fn every_table_iban_gives_its_documented_outcome() {
    let state = MemoryLedger::new();
    let sandbox = adapter(&state, false);
    for (i, (iban, expect)) in TABLE.iter().enumerate() {
        let txn = format!("TXN-20260411-{i:08X}");
        let result = sandbox.debit(&debit(&txn, iban)).await;
        match (expect, &result) {
            (Expect::Approved, Ok(GatewayOutcome::Approved { reference })) => {
                assert_reference(reference);
            }
            (
                Expect::Declined(code, gateway_code),
                Ok(GatewayOutcome::Declined {
                    reference,
                    code: got,
                    gateway_code: got_gateway,
                    gateway_message,
                }),
            ) => {
                assert_eq!(got, code, "{iban}");
                assert_eq!(got_gateway.as_deref(), Some(*gateway_code), "{iban}");
                assert_reference(reference.as_deref().unwrap());
                assert!(gateway_message.is_some());
            }
            (Expect::Unreachable, Err(GatewayError::Timeout)) => {
                assert_eq!(sandbox.reconcile(&by_txn(&txn)).await, Ok(None));
            }
            (
                Expect::Verification(after),
                Ok(GatewayOutcome::VerificationRequired { reference, url }),
            ) => {
                assert_reference(reference);
                assert_eq!(
                    url,
                    &format!("https://pay.example.com/sandbox/verify/{reference}")
                );
                // Still awaiting verification when reconciled.
                assert_eq!(
                    sandbox.reconcile(&by_txn(&txn)).await.unwrap().as_ref(),
                    result.as_ref().ok()
                );
                let verified = sandbox
                    .verify(&ReconcileRequest {
                        transaction_id: txn.clone(),
                        reference: Some(reference.clone()),
                    })
                    .await
                    .unwrap();
                match (after, &verified) {
                    (None, GatewayOutcome::Approved { reference: r }) => assert_eq!(r, reference),
                    (
                        Some((code, gateway_code)),
                        GatewayOutcome::Declined {
                            code: got,
                            gateway_code: got_gateway,
                            ..
                        },
                    ) => {
                        assert_eq!(got, code);
                        assert_eq!(got_gateway.as_deref(), Some(*gateway_code));
                    }
                    _ => panic!("{iban}: verify gave {verified:?}"),
                }
                // Verify again, reconcile and a repeated debit all give the verified outcome.
                assert_eq!(sandbox.verify(&by_txn(&txn)).await.unwrap(), verified);
                assert_eq!(
                    sandbox.reconcile(&by_txn(&txn)).await.unwrap(),
                    Some(verified.clone())
                );
                assert_eq!(sandbox.debit(&debit(&txn, iban)).await.unwrap(), verified);
            }
            _ => panic!("{iban}: expected {expect:?}, got {result:?}"),
        }
        if let Ok(outcome) = &result
            && !matches!(expect, Expect::Verification(_))
        {
            assert_eq!(
                sandbox.reconcile(&by_txn(&txn)).await.unwrap().as_ref(),
                Some(outcome)
            );
        }
    }
    // The unreachable debit recorded nothing.
    assert_eq!(state.len(), TABLE.len() - 1);
}

#[tokio::test]
async fn other_ibans_are_approved_in_any_form() {
    let sandbox = adapter(&MemoryLedger::new(), false);
    for (i, iban) in [
        "FR1420041010050500013M02606",
        "de44 5001 0517 5407 3249 31",
        "NL91ABNA0417164300",
    ]
    .iter()
    .enumerate()
    {
        let outcome = sandbox
            .debit(&debit(&format!("TXN-O-{i}"), iban))
            .await
            .unwrap();
        assert!(outcome.is_approved(), "{iban}: {outcome:?}");
    }
    // Lower case and spaces still hit the table.
    let outcome = sandbox
        .debit(&debit("TXN-O-9", "de91 1000 0000 0123 4567 89"))
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        GatewayOutcome::Declined {
            code: DeclineCode::InsufficientFunds,
            ..
        }
    ));
}

#[tokio::test]
async fn debits_are_idempotent_per_transaction_id() {
    let state = MemoryLedger::new();
    let first = adapter(&state, false);
    // A second adapter on the same state (another gateway row, or a rebuilt adapter).
    let second = adapter(&state, false);
    let a = first
        .debit(&debit("TXN-IDEM-1", "DE89370400440532013000"))
        .await
        .unwrap();
    // Same id, even with another IBAN: same outcome and reference, nothing new recorded.
    let b = second
        .debit(&debit("TXN-IDEM-1", "DE91100000000123456789"))
        .await
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(state.len(), 1);
    let declined = first
        .debit(&debit("TXN-IDEM-2", "DE91100000000123456789"))
        .await
        .unwrap();
    assert_eq!(
        first
            .debit(&debit("TXN-IDEM-2", "DE91100000000123456789"))
            .await
            .unwrap(),
        declined
    );
    assert_eq!(state.len(), 2);
    // The unreachable IBAN stays unreachable and never records a debit.
    for _ in 0..2 {
        assert_eq!(
            first
                .debit(&debit("TXN-IDEM-3", "DE76100000000000000503"))
                .await,
            Err(GatewayError::Timeout)
        );
    }
    assert_eq!(state.len(), 2);
    // Reconcile by reference finds the same transaction.
    let reference = a.reference().unwrap().to_owned();
    assert_eq!(
        first
            .reconcile(&ReconcileRequest {
                transaction_id: "ignored".into(),
                reference: Some(reference),
            })
            .await
            .unwrap(),
        Some(a)
    );
    assert_eq!(first.reconcile(&by_txn("TXN-NEVER")).await, Ok(None));
}

#[tokio::test]
async fn requires_verification_sends_approvals_through_verify() {
    let sandbox = adapter(&MemoryLedger::new(), true);
    for (txn, iban) in [
        ("TXN-V-1", "DE89370400440532013000"),
        ("TXN-V-2", "DE43100000000000000806"),
        ("TXN-V-3", "FR1420041010050500013M02606"),
    ] {
        let outcome = sandbox.debit(&debit(txn, iban)).await.unwrap();
        let GatewayOutcome::VerificationRequired { reference, .. } = &outcome else {
            panic!("{iban}: {outcome:?}");
        };
        assert_eq!(
            sandbox.verify(&by_txn(txn)).await.unwrap(),
            GatewayOutcome::Approved {
                reference: reference.clone()
            }
        );
    }
    // Declines stay declines; the 701 IBAN still fails verification.
    assert!(matches!(
        sandbox
            .debit(&debit("TXN-V-4", "DE17100000000000000401"))
            .await
            .unwrap(),
        GatewayOutcome::Declined {
            code: DeclineCode::AccountClosed,
            ..
        }
    ));
    sandbox
        .debit(&debit("TXN-V-5", "DE65100000000000000701"))
        .await
        .unwrap();
    assert!(matches!(
        sandbox.verify(&by_txn("TXN-V-5")).await.unwrap(),
        GatewayOutcome::Declined {
            code: DeclineCode::MandateRejected,
            ..
        }
    ));
    // Verifying an unknown transaction is an integration error.
    assert!(matches!(
        sandbox.verify(&by_txn("TXN-V-UNKNOWN")).await,
        Err(GatewayError::Protocol(_))
    ));
}

#[tokio::test]
async fn recurring_debits_and_refunds() {
    let sandbox = adapter(&MemoryLedger::new(), false);
    let mut first = debit("TXN-R-1", "DE89370400440532013000");
    first.kind = DebitKind::FirstRecurring;
    let first_ref = sandbox
        .debit(&first)
        .await
        .unwrap()
        .reference()
        .unwrap()
        .to_owned();
    let mut next = debit("TXN-R-2", "ignored");
    next.iban = None;
    next.kind = DebitKind::Recurring {
        reference_id: first_ref.clone(),
    };
    assert!(sandbox.debit(&next).await.unwrap().is_approved());
    // A recurring debit under a first debit that was declined is refused.
    let mut bad_first = debit("TXN-R-3", "DE17100000000000000401");
    bad_first.kind = DebitKind::FirstRecurring;
    let bad_ref = sandbox
        .debit(&bad_first)
        .await
        .unwrap()
        .reference()
        .unwrap()
        .to_owned();
    next.transaction_id = "TXN-R-4".into();
    next.kind = DebitKind::Recurring {
        reference_id: bad_ref,
    };
    assert!(matches!(
        sandbox.debit(&next).await.unwrap(),
        GatewayOutcome::Declined { .. }
    ));
    // A one-off without IBAN is a caller error.
    let mut no_iban = debit("TXN-R-5", "x");
    no_iban.iban = None;
    assert!(matches!(
        sandbox.debit(&no_iban).await,
        Err(GatewayError::Protocol(_))
    ));

    // Refunds: partial, idempotent, never above what is left.
    let eur = |minor| Money::from_minor(minor, Currency::EUR).unwrap();
    let refund = |txn: &str, reference: &str, minor| RefundRequest {
        transaction_id: txn.to_owned(),
        reference: reference.to_owned(),
        amount: eur(minor),
        usage: "refund".into(),
        remote_ip: "127.0.0.1".into(),
    };
    let r1 = sandbox
        .refund(&refund("TXN-F-1", &first_ref, 1000))
        .await
        .unwrap();
    assert!(r1.is_approved());
    assert_ne!(r1.reference(), Some(first_ref.as_str()));
    assert_eq!(
        sandbox
            .refund(&refund("TXN-F-1", &first_ref, 1000))
            .await
            .unwrap(),
        r1
    );
    assert!(matches!(
        sandbox
            .refund(&refund("TXN-F-2", &first_ref, 235))
            .await
            .unwrap(),
        GatewayOutcome::Declined {
            code: DeclineCode::Unknown,
            ..
        }
    ));
    assert!(
        sandbox
            .refund(&refund("TXN-F-3", &first_ref, 234))
            .await
            .unwrap()
            .is_approved()
    );
    assert!(matches!(
        sandbox
            .refund(&refund("TXN-F-4", "sbx_nope", 1))
            .await
            .unwrap(),
        GatewayOutcome::Declined { .. }
    ));
}

#[test]
fn later_outcomes() {
    for row in SANDBOX_IBANS {
        let later = later_outcome(row.iban);
        match row.iban {
            "DE43100000000000000806" => {
                let later = later.unwrap();
                assert_eq!((later.kind, later.reason), (LaterKind::Chargeback, "MD06"));
                assert_eq!(later.decline_code(), DeclineCode::MandateRejected);
            }
            "DE98100000000000000204" => {
                let later = later.unwrap();
                assert_eq!((later.kind, later.reason), (LaterKind::Return, "AM04"));
                assert_eq!(later.decline_code(), DeclineCode::InsufficientFunds);
            }
            _ => assert_eq!(later, None, "{}", row.iban),
        }
        if later.is_some() {
            assert!(matches!(row.behavior, SandboxBehavior::ApproveThenLater(_)));
        }
    }
}

#[tokio::test]
async fn sandbox_has_no_notifications() {
    let sandbox = adapter(&MemoryLedger::new(), false);
    assert_eq!(sandbox.name(), "SANDBOX");
    assert!(sandbox.parse_notification(None, b"unique_id=x").is_err());
    assert_eq!(sandbox.notification_echo(&Default::default()).status, 200);
}

#[tokio::test]
async fn the_sandbox_answers_in_process_with_the_same_state() {
    let state = MemoryLedger::new();
    let sandbox = adapter(&state, false);
    let now = sandbox.in_process().expect("the sandbox runs in-process");
    let approved = now
        .debit_now(
            &mut *state.records(),
            &debit("TXN-NOW-1", "DE89370400440532013000"),
        )
        .unwrap();
    assert!(approved.is_approved());
    // The async face sees the same debit (idempotent by transaction id) and reconciles it.
    assert_eq!(
        sandbox
            .debit(&debit("TXN-NOW-1", "DE91100000000123456789"))
            .await
            .unwrap(),
        approved
    );
    assert_eq!(
        now.reconcile_now(&mut *state.records(), &by_txn("TXN-NOW-1"))
            .unwrap(),
        Some(approved)
    );
    assert_eq!(
        now.debit_now(
            &mut *state.records(),
            &debit("TXN-NOW-2", "DE76100000000000000503")
        ),
        Err(GatewayError::Timeout)
    );
    assert_eq!(
        now.reconcile_now(&mut *state.records(), &by_txn("TXN-NOW-2"))
            .unwrap(),
        None
    );
    assert_eq!(state.len(), 1);
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR).unwrap()
}

/// A first collection (FRST) from `iban`.
fn first_collection(txn: &str, iban: &str) -> DebitRequest {
    let mut req = debit(txn, iban);
    req.kind = DebitKind::FirstRecurring;
    req
}

/// A renewal under `reference_id`, as the billing system sends it: with the mandate's IBAN.
fn renewal(txn: &str, reference_id: &str, iban: Option<&str>) -> DebitRequest {
    let mut req = DebitRequest::example(txn);
    req.kind = DebitKind::Recurring {
        reference_id: reference_id.to_owned(),
    };
    req.iban = iban.map(|i| Secret::new(i.to_owned()));
    req
}

fn refund_of(txn: &str, reference: &str, minor: i64) -> RefundRequest {
    RefundRequest {
        transaction_id: txn.to_owned(),
        reference: reference.to_owned(),
        amount: eur(minor),
        usage: "Refund: Pro plan".into(),
        remote_ip: "198.51.100.1".into(),
    }
}

fn declined(outcome: &GatewayOutcome) -> (DeclineCode, Option<&str>, &str) {
    match outcome {
        GatewayOutcome::Declined {
            code,
            gateway_code,
            gateway_message,
            ..
        } => (
            *code,
            gateway_code.as_deref(),
            gateway_message.as_deref().unwrap_or(""),
        ),
        other => panic!("expected a decline, got {other:?}"),
    }
}

async fn approved_reference(sandbox: &SandboxAdapter, req: &DebitRequest) -> String {
    match sandbox.debit(req).await.unwrap() {
        GatewayOutcome::Approved { reference } => reference,
        other => panic!("{}: {other:?}", req.transaction_id),
    }
}

#[tokio::test]
async fn the_first_renewal_iban_declines_the_first_renewal_per_mandate_then_approves() {
    const IBAN: &str = "DE71100000000000000205";
    let sandbox = adapter(&MemoryLedger::new(), false);
    // One-off and first collections from it are approved.
    assert!(
        sandbox
            .debit(&debit("TXN-FR-0", IBAN))
            .await
            .unwrap()
            .is_approved()
    );
    let mandate_a = approved_reference(&sandbox, &first_collection("TXN-FR-A0", IBAN)).await;
    let mandate_b = approved_reference(&sandbox, &first_collection("TXN-FR-B0", IBAN)).await;

    // The first renewal on mandate A: declined AM04 (insufficient funds).
    let first_try = sandbox
        .debit(&renewal("TXN-FR-A1", &mandate_a, Some(IBAN)))
        .await
        .unwrap();
    let (code, gateway_code, _) = declined(&first_try);
    assert_eq!(
        (code, gateway_code),
        (DeclineCode::InsufficientFunds, Some("AM04"))
    );
    assert!(first_try.reference().is_some());
    // Retrying the same transaction id is the same decline, not the next renewal.
    assert_eq!(
        sandbox
            .debit(&renewal("TXN-FR-A1", &mandate_a, Some(IBAN)))
            .await
            .unwrap(),
        first_try
    );
    // The dunning retry (a new transaction on the same mandate) is approved, and so are
    // later renewals.
    for txn in ["TXN-FR-A2", "TXN-FR-A3"] {
        assert!(
            sandbox
                .debit(&renewal(txn, &mandate_a, Some(IBAN)))
                .await
                .unwrap()
                .is_approved(),
            "{txn}"
        );
    }
    // Mandate B has its own first renewal: declined, then approved. The sandbox knows the
    // mandate's IBAN, so the request need not carry it.
    assert_eq!(
        declined(
            &sandbox
                .debit(&renewal("TXN-FR-B1", &mandate_b, None))
                .await
                .unwrap()
        )
        .1,
        Some("AM04")
    );
    assert!(
        sandbox
            .debit(&renewal("TXN-FR-B2", &mandate_b, None))
            .await
            .unwrap()
            .is_approved()
    );
}

#[tokio::test]
async fn renewals_follow_the_iban_table_like_one_offs() {
    let state = MemoryLedger::new();
    // Verification is for a customer at the payment page, never for an off-session renewal.
    let sandbox = adapter(&state, true);
    // An approved IBAN: approved. The request's IBAN does not override the mandate's.
    let good = first_collection("TXN-RT-1", "DE89370400440532013000");
    sandbox.debit(&good).await.unwrap();
    let good_ref = match sandbox.verify(&by_txn("TXN-RT-1")).await.unwrap() {
        GatewayOutcome::Approved { reference } => reference,
        other => panic!("{other:?}"),
    };
    assert!(
        sandbox
            .debit(&renewal(
                "TXN-RT-2",
                &good_ref,
                Some("DE91100000000123456789")
            ))
            .await
            .unwrap()
            .is_approved()
    );
    // A reference the sandbox has no record of (e.g. made on another sandbox): the request's IBAN
    // decides, as for a one-off; DE91… declines AM04 every time.
    for txn in ["TXN-RT-3", "TXN-RT-4"] {
        let outcome = sandbox
            .debit(&renewal(
                txn,
                "sbx_forgotten",
                Some("de91 1000 0000 0123 4567 89"),
            ))
            .await
            .unwrap();
        assert_eq!(
            declined(&outcome).1,
            Some("AM04"),
            "{txn}: every renewal declines"
        );
    }
    assert_eq!(
        declined(
            &sandbox
                .debit(&renewal(
                    "TXN-RT-5",
                    "sbx_forgotten",
                    Some("DE17100000000000000401")
                ))
                .await
                .unwrap()
        )
        .0,
        DeclineCode::AccountClosed
    );
    // The unreachable IBAN times out and records nothing.
    assert_eq!(
        sandbox
            .debit(&renewal(
                "TXN-RT-6",
                "sbx_forgotten",
                Some("DE76100000000000000503")
            ))
            .await,
        Err(GatewayError::Timeout)
    );
    assert_eq!(sandbox.reconcile(&by_txn("TXN-RT-6")).await, Ok(None));
    // The verification IBANs are approved off-session; unknown reference without IBAN too.
    for (txn, iban) in [
        ("TXN-RT-7", Some("DE92100000000000000700")),
        ("TXN-RT-8", Some("DE65100000000000000701")),
        ("TXN-RT-9", None),
    ] {
        assert!(
            sandbox
                .debit(&renewal(txn, "sbx_forgotten", iban))
                .await
                .unwrap()
                .is_approved(),
            "{txn}"
        );
    }
    // The chargeback IBAN's renewal is approved (its chargeback comes at settlement).
    assert!(
        sandbox
            .debit(&renewal(
                "TXN-RT-10",
                "sbx_other",
                Some("DE43100000000000000806")
            ))
            .await
            .unwrap()
            .is_approved()
    );
    // Reconcile finds renewals by our transaction id.
    let renewal_outcome = sandbox
        .debit(&renewal("TXN-RT-2", &good_ref, None))
        .await
        .unwrap();
    assert_eq!(
        sandbox.reconcile(&by_txn("TXN-RT-2")).await.unwrap(),
        Some(renewal_outcome)
    );
    assert_eq!(
        declined(
            &sandbox
                .reconcile(&by_txn("TXN-RT-3"))
                .await
                .unwrap()
                .unwrap()
        )
        .1,
        Some("AM04")
    );
}

#[tokio::test]
async fn refunds_are_checked_against_the_original_and_reconciled() {
    let sandbox = adapter(&MemoryLedger::new(), false);
    let mut sale = debit("TXN-RF-1", "DE89370400440532013000");
    sale.amount = eur(2999);
    let sale_ref = approved_reference(&sandbox, &sale).await;

    // Full refund in two parts; a third is over the original: Genesis' 440.
    let part = sandbox
        .refund(&refund_of("TXN-RF-R1", &sale_ref, 2000))
        .await
        .unwrap();
    assert!(part.is_approved());
    let over = sandbox
        .refund(&refund_of("TXN-RF-R2", &sale_ref, 1000))
        .await
        .unwrap();
    let (code, gateway_code, message) = declined(&over);
    assert_eq!((code, gateway_code), (DeclineCode::Unknown, Some("440")));
    assert!(
        message.contains("amount exceeds amount of reference transaction"),
        "{message}"
    );
    assert!(message.contains("999"), "what is left: {message}");
    let rest = sandbox
        .refund(&refund_of("TXN-RF-R3", &sale_ref, 999))
        .await
        .unwrap();
    assert!(rest.is_approved());
    // Nothing is left: even one cent is over.
    assert_eq!(
        declined(
            &sandbox
                .refund(&refund_of("TXN-RF-R4", &sale_ref, 1))
                .await
                .unwrap()
        )
        .1,
        Some("440")
    );

    // Unknown reference: 410; a refund of a refund: 420; of a declined debit: 400.
    assert_eq!(
        declined(
            &sandbox
                .refund(&refund_of("TXN-RF-R5", "sbx_unknown", 1))
                .await
                .unwrap()
        )
        .1,
        Some("410")
    );
    assert_eq!(
        declined(
            &sandbox
                .refund(&refund_of("TXN-RF-R6", part.reference().unwrap(), 1))
                .await
                .unwrap()
        )
        .1,
        Some("420")
    );
    let declined_sale = sandbox
        .debit(&debit("TXN-RF-2", "DE91100000000123456789"))
        .await
        .unwrap();
    assert_eq!(
        declined(
            &sandbox
                .refund(&refund_of(
                    "TXN-RF-R7",
                    declined_sale.reference().unwrap(),
                    1
                ))
                .await
                .unwrap()
        )
        .1,
        Some("400")
    );

    // Refunds of first and recurring collections.
    let first = approved_reference(
        &sandbox,
        &first_collection("TXN-RF-3", "DE89370400440532013000"),
    )
    .await;
    let renewal_ref = approved_reference(&sandbox, &renewal("TXN-RF-4", &first, None)).await;
    for (txn, reference) in [("TXN-RF-R8", &first), ("TXN-RF-R9", &renewal_ref)] {
        assert!(
            sandbox
                .refund(&refund_of(txn, reference, 1234))
                .await
                .unwrap()
                .is_approved(),
            "{txn}"
        );
    }

    // Reconcile finds refunds by our transaction id (approved and declined alike) and by
    // their own reference.
    for (txn, outcome) in [("TXN-RF-R1", &part), ("TXN-RF-R2", &over)] {
        assert_eq!(
            sandbox.reconcile(&by_txn(txn)).await.unwrap().as_ref(),
            Some(outcome),
            "{txn}"
        );
    }
    assert_eq!(
        sandbox
            .reconcile(&ReconcileRequest {
                transaction_id: "ignored".into(),
                reference: part.reference().map(str::to_owned),
            })
            .await
            .unwrap(),
        Some(part)
    );
}

#[tokio::test]
async fn the_refund_decline_iban_collects_but_cannot_refund() {
    const IBAN: &str = "DE87100000000000000402";
    let state = MemoryLedger::new();
    let sandbox = adapter(&state, false);
    let sale_ref = approved_reference(&sandbox, &debit("TXN-RD-1", IBAN)).await;
    let first = approved_reference(&sandbox, &first_collection("TXN-RD-2", IBAN)).await;
    // Renewals under it are approved too (no IBAN in the request: the mandate's is known).
    let renewal_ref = approved_reference(&sandbox, &renewal("TXN-RD-3", &first, None)).await;
    for (txn, reference) in [
        ("TXN-RD-R1", &sale_ref),
        ("TXN-RD-R2", &first),
        ("TXN-RD-R3", &renewal_ref),
    ] {
        let outcome = sandbox
            .refund(&refund_of(txn, reference, 100))
            .await
            .unwrap();
        let (code, gateway_code, message) = declined(&outcome);
        assert_eq!(
            (code, gateway_code),
            (DeclineCode::AccountClosed, Some("AC04")),
            "{txn}"
        );
        assert!(message.contains("Refund declined"), "{message}");
        // The bank saw it: it has a reference, and reconcile finds it.
        assert!(outcome.reference().is_some());
        assert_eq!(
            sandbox.reconcile(&by_txn(txn)).await.unwrap(),
            Some(outcome.clone())
        );
        // Idempotent per transaction id.
        assert_eq!(
            sandbox
                .refund(&refund_of(txn, reference, 100))
                .await
                .unwrap(),
            outcome
        );
    }
    // A declined refund takes nothing off the debit: over-refunds are still 440 first.
    assert_eq!(
        declined(
            &sandbox
                .refund(&refund_of("TXN-RD-R4", &sale_ref, 1235))
                .await
                .unwrap()
        )
        .1,
        Some("440")
    );
    assert_eq!(
        declined(
            &sandbox
                .refund(&refund_of("TXN-RD-R5", &sale_ref, 1234))
                .await
                .unwrap()
        )
        .1,
        Some("AC04")
    );
}

#[tokio::test]
async fn records_keep_test_ibans_only_and_serve_every_adapter_on_the_ledger() {
    use catalyst_gateway::SandboxLedger;
    let ledger = MemoryLedger::new();
    let first = adapter(&ledger, false);
    let payer = first
        .debit(&debit("TXN-L-1", "FR14 2004 1010 0505 0001 3M02 606"))
        .await
        .unwrap();
    let refusing = first
        .debit(&debit("TXN-L-2", "DE87100000000000000402"))
        .await
        .unwrap();
    let payer_ref = payer.reference().unwrap().to_owned();
    let refusing_ref = refusing.reference().unwrap().to_owned();
    {
        let mut records = ledger.records();
        let payer_record = records.by_transaction("TXN-L-1").unwrap().unwrap();
        assert_eq!(
            (payer_record.test_iban, payer_record.amount_minor),
            (None, 1234),
            "a payer's IBAN is not kept"
        );
        assert_eq!(
            records
                .by_reference(&refusing_ref)
                .unwrap()
                .unwrap()
                .test_iban
                .as_deref(),
            Some("DE87100000000000000402")
        );
    }
    // Another adapter on the same ledger (a rebuilt adapter, another instance's) applies the
    // recorded IBAN's rules, not the request's.
    let second = adapter(&ledger, false);
    let outcome = second
        .refund(&refund_of("TXN-L-3", &refusing_ref, 100))
        .await
        .unwrap();
    assert_eq!(declined(&outcome).1, Some("AC04"));
    for txn in ["TXN-L-4", "TXN-L-5"] {
        let renewed = second
            .debit(&renewal(txn, &payer_ref, Some("DE91100000000123456789")))
            .await
            .unwrap();
        assert!(
            renewed.is_approved(),
            "{txn}: the first collection's IBAN decides: {renewed:?}"
        );
    }
    assert_eq!(ledger.records().renewals(&payer_ref).unwrap(), 2);
    assert_eq!(ledger.len(), 5);
}
