//! The SANDBOX adapter: the whole IBAN table of API.md §8, idempotency, verification,
//! reconcile and refunds.

use catalyst_domain::money::{Currency, Money};
use catalyst_domain::secret::Secret;
use catalyst_gateway::sandbox::{SANDBOX_IBANS, SandboxBehavior};
use catalyst_gateway::{
    DebitKind, DebitRequest, GatewayAdapter, GatewayError, GatewayOutcome, LaterKind,
    ReconcileRequest, RefundRequest, SandboxAdapter, SandboxState, later_outcome,
};
use catalyst_sepa::DeclineCode;

const PUBLIC_URL: &str = "https://pay.example.com/";

fn adapter(state: &SandboxState, requires_verification: bool) -> SandboxAdapter {
    SandboxAdapter::new(state.clone(), PUBLIC_URL, requires_verification)
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

const TABLE: [(&str, Expect); 13] = [
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
];

#[test]
fn the_test_table_covers_the_sandbox_table() {
    let ours: Vec<&str> = TABLE.iter().map(|(iban, _)| *iban).collect();
    let theirs: Vec<&str> = SANDBOX_IBANS.iter().map(|row| row.iban).collect();
    assert_eq!(ours, theirs);
}

#[tokio::test]
async fn every_table_iban_gives_its_documented_outcome() {
    let state = SandboxState::new();
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
    let sandbox = adapter(&SandboxState::new(), false);
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
    let state = SandboxState::new();
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
    let sandbox = adapter(&SandboxState::new(), true);
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
    let sandbox = adapter(&SandboxState::new(), false);
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
    let sandbox = adapter(&SandboxState::new(), false);
    assert_eq!(sandbox.name(), "SANDBOX");
    assert!(sandbox.parse_notification(None, b"unique_id=x").is_err());
    assert_eq!(sandbox.notification_echo(&Default::default()).status, 200);
}

#[tokio::test]
async fn the_sandbox_answers_in_process_with_the_same_state() {
    let state = SandboxState::new();
    let sandbox = adapter(&state, false);
    let now = sandbox.in_process().expect("the sandbox runs in-process");
    let approved = now
        .debit_now(&debit("TXN-NOW-1", "DE89370400440532013000"))
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
        now.reconcile_now(&by_txn("TXN-NOW-1")).unwrap(),
        Some(approved)
    );
    assert_eq!(
        now.debit_now(&debit("TXN-NOW-2", "DE76100000000000000503")),
        Err(GatewayError::Timeout)
    );
    assert_eq!(now.reconcile_now(&by_txn("TXN-NOW-2")).unwrap(), None);
    assert_eq!(state.len(), 1);
}
