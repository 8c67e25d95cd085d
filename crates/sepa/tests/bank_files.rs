//! The ISO 20022 bank files: every pain.008 the writer produces here is validated against the
//! ISO XSD with `xmllint --schema` (Debian libxml2-utils). Without xmllint the schema check is
//! skipped with a message, unless `SEPA_REQUIRE_XMLLINT=1` (set in `.ci/run`) makes it fail.
//! Then the EPC rules, and the pain.002 / camt.054 readers on sample and hostile files.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use catalyst_sepa::camt054::{self, CreditDebit};
use catalyst_sepa::epc::{self, EpcViolation};
use catalyst_sepa::pain002::{self, Status};
use catalyst_sepa::pain008::{
    Amendment, Batch, Collection, Creditor, SequenceType, Version, write,
};
use catalyst_sepa::{Bic, CreditorId, FileError, ReasonCode, validate};
use chrono::{NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn collection(e2e: &str, amount_minor: i64, sequence: SequenceType, day: NaiveDate) -> Collection {
    Collection {
        end_to_end_id: e2e.into(),
        amount_minor,
        sequence,
        collection_date: day,
        mandate_id: format!("MANDATE-{e2e}"),
        mandate_signed_on: date(2026, 11, 30),
        amendment: None,
        debtor_name: "Max Mustermann".into(),
        debtor_iban: validate("DE02120300000000202051").unwrap(),
        debtor_bic: Some(Bic::parse("BYLADEM1001").unwrap()),
        remittance_information: Some(format!("Order {e2e}")),
    }
}

/// Created Friday 4 Dec 2026; Monday 7 Dec is the first valid collection date.
fn batch() -> Batch {
    let mut amended = collection("E2E-3", 1, SequenceType::Rcur, date(2026, 12, 7));
    amended.amendment = Some(Amendment {
        original_mandate_id: Some("OLD-MANDATE-3".into()),
        original_creditor_id: Some(CreditorId::parse("DE98ZZZ09999999999").unwrap()),
        original_debtor_iban: Some(validate("DE89370400440532013000").unwrap()),
        debtor_changed_bank: false,
    });
    let mut moved = collection(
        "E2E-4",
        99_999_999_999,
        SequenceType::Frst,
        date(2026, 12, 7),
    );
    moved.amendment = Some(Amendment {
        debtor_changed_bank: true,
        ..Amendment::default()
    });
    moved.debtor_bic = None;
    moved.remittance_information = None;
    Batch {
        message_id: "MSG-2026-12-04-1".into(),
        created_at: Utc.with_ymd_and_hms(2026, 12, 4, 9, 30, 0).unwrap(),
        initiating_party: "Catalyst Demo GmbH".into(),
        creditor: Creditor {
            name: "Catalyst Demo GmbH".into(),
            iban: validate("DE89370400440532013000").unwrap(),
            bic: Some(Bic::parse("COBADEFFXXX").unwrap()),
            creditor_id: CreditorId::parse("DE98ZZZ09999999999").unwrap(),
        },
        collections: vec![
            collection("E2E-1", 1999, SequenceType::Frst, date(2026, 12, 7)),
            collection("E2E-2", 2000, SequenceType::Rcur, date(2026, 12, 7)),
            amended,
            moved,
            collection("E2E-5", 1050, SequenceType::Ooff, date(2026, 12, 8)),
            collection("E2E-6", 700, SequenceType::Fnal, date(2026, 12, 8)),
        ],
    }
}

/// Validates `xml` against the XSD of `version` with xmllint; skipped without xmllint unless
/// SEPA_REQUIRE_XMLLINT is set.
fn assert_schema_valid(xml: &[u8], version: Version, test: &str) {
    let required = std::env::var_os("SEPA_REQUIRE_XMLLINT").is_some_and(|v| !v.is_empty());
    if Command::new("xmllint").arg("--version").output().is_err() {
        assert!(
            !required,
            "{test}: SEPA_REQUIRE_XMLLINT is set but xmllint is not installed (apt-get install libxml2-utils)"
        );
        println!("{test}: XSD check skipped (no xmllint; install libxml2-utils)");
        return;
    }
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("xsd")
        .join(format!("{}.xsd", version.message_name()));
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{test}: {} does not validate:\n{}\n{}",
        version.message_name(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(xml)
    );
}

#[test]
fn pain008_both_versions_validate_against_the_iso_xsd() {
    for version in [Version::V08, Version::V02] {
        let xml = write(&batch(), version).unwrap();
        assert_schema_valid(
            &xml,
            version,
            "pain008_both_versions_validate_against_the_iso_xsd",
        );
        let text = String::from_utf8(xml).unwrap();
        assert!(text.contains(version.namespace()));
        let bic_tag = if version == Version::V08 {
            "<BICFI>COBADEFFXXX</BICFI>"
        } else {
            "<BIC>COBADEFFXXX</BIC>"
        };
        assert!(text.contains(bic_tag), "{text}");
    }
}

#[test]
fn pain008_groups_and_sums_are_exact() {
    let b = batch();
    let xml = String::from_utf8(write(&b, Version::V08).unwrap()).unwrap();
    // 19.99 + 20.00 + 0.01 + 999999999.99 + 10.50 + 7.00
    assert!(
        xml.contains("<NbOfTxs>6</NbOfTxs><CtrlSum>1000000057.49</CtrlSum>"),
        "{xml}"
    );
    let groups = b.payment_groups();
    let got: Vec<_> = groups
        .iter()
        .map(|g| {
            (
                g.payment_information_id.as_str(),
                g.sequence,
                g.collection_date,
                g.collections.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "MSG-2026-12-04-1-1",
                SequenceType::Frst,
                date(2026, 12, 7),
                vec![0, 3]
            ),
            (
                "MSG-2026-12-04-1-2",
                SequenceType::Rcur,
                date(2026, 12, 7),
                vec![1, 2]
            ),
            (
                "MSG-2026-12-04-1-3",
                SequenceType::Ooff,
                date(2026, 12, 8),
                vec![4]
            ),
            (
                "MSG-2026-12-04-1-4",
                SequenceType::Fnal,
                date(2026, 12, 8),
                vec![5]
            ),
        ]
    );
    assert_eq!(xml.matches("<PmtInf>").count(), 4);
    assert!(
        xml.contains("<NbOfTxs>2</NbOfTxs><CtrlSum>1000000019.98</CtrlSum>"),
        "{xml}"
    );
    assert!(xml.contains("<InstdAmt Ccy=\"EUR\">0.01</InstdAmt>"));
    assert!(xml.contains("<SeqTp>FNAL</SeqTp>"));
    assert!(xml.contains(
        "<AmdmntInd>true</AmdmntInd><AmdmntInfDtls><OrgnlMndtId>OLD-MANDATE-3</OrgnlMndtId>"
    ));
    assert!(xml.contains(
        "<OrgnlDbtrAgt><FinInstnId><Othr><Id>SMNDA</Id></Othr></FinInstnId></OrgnlDbtrAgt>"
    ));
    assert!(
        xml.contains(
            "<DbtrAgt><FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId></DbtrAgt>"
        )
    );
    assert!(xml.contains("<CreDtTm>2026-12-04T09:30:00</CreDtTm>"));
}

#[test]
fn pain008_escapes_text_through_the_xml_writer() {
    let mut b = batch();
    b.collections[0].remittance_information = Some("A+B (1/2) it's ok".into());
    let xml = write(&b, Version::V08).unwrap();
    assert_schema_valid(
        &xml,
        Version::V08,
        "pain008_escapes_text_through_the_xml_writer",
    );
    assert!(
        String::from_utf8(xml)
            .unwrap()
            .contains("<Ustrd>A+B (1/2) it&apos;s ok</Ustrd>")
    );
}

#[test]
fn pain008_refuses_an_empty_batch() {
    let mut b = batch();
    b.collections.clear();
    assert_eq!(write(&b, Version::V08).unwrap_err(), FileError::Empty);
}

#[test]
fn epc_rules_list_every_violation() {
    let mut b = batch();
    b.message_id = "M".repeat(36);
    b.creditor.name = "Müller & Söhne".into();
    b.collections[0].remittance_information = Some("x".repeat(141));
    b.collections[1].amount_minor = 0;
    b.collections[2].amount_minor = 100_000_000_000;
    b.collections[3].end_to_end_id = "bad//id".into();
    b.collections[4].collection_date = date(2026, 12, 4); // same day
    b.collections[5].collection_date = date(2026, 12, 25); // holiday
    b.collections[5].end_to_end_id = "E2E-1".into();
    b.collections[5].debtor_name = " ".into();
    b.collections[1].amendment = Some(Amendment::default());
    b.collections[2].amendment = None;
    b.collections[2].debtor_iban = validate("SA0380000000608010167519").unwrap();
    let err = write(&b, Version::V08).unwrap_err();
    let FileError::Epc(v) = err else {
        panic!("{err:?}")
    };
    let f = |s: &str| s.to_owned();
    assert_eq!(
        v,
        vec![
            EpcViolation::InvalidId {
                field: f("message_id")
            },
            EpcViolation::Charset {
                field: f("creditor.name")
            },
            EpcViolation::TooLong {
                field: f("collections[0].remittance_information"),
                max: 140
            },
            EpcViolation::EmptyAmendment {
                field: f("collections[1].amendment")
            },
            EpcViolation::Amount {
                field: f("collections[1].amount_minor")
            },
            EpcViolation::NotSepa {
                field: f("collections[2].debtor_iban")
            },
            EpcViolation::Amount {
                field: f("collections[2].amount_minor")
            },
            EpcViolation::InvalidId {
                field: f("collections[3].end_to_end_id")
            },
            EpcViolation::CollectionDate {
                field: f("collections[4].collection_date"),
                date: date(2026, 12, 4),
                today: date(2026, 12, 4)
            },
            EpcViolation::DuplicateEndToEndId {
                field: f("collections[5].end_to_end_id")
            },
            EpcViolation::Empty {
                field: f("collections[5].debtor_name")
            },
            EpcViolation::CollectionDate {
                field: f("collections[5].collection_date"),
                date: date(2026, 12, 25),
                today: date(2026, 12, 4)
            },
        ]
    );
    // Transliterated, the names pass.
    let mut ok = batch();
    ok.creditor.name = epc::transliterate("Müller & Söhne");
    ok.collections[0].debtor_name = epc::transliterate("François Łukasz Ærø");
    assert_eq!(ok.collections[0].debtor_name, "Francois Lukasz AEro");
    let xml = write(&ok, Version::V02).unwrap();
    assert_schema_valid(&xml, Version::V02, "epc_rules_list_every_violation");
    assert_eq!(epc::validate(&ok, date(2026, 12, 4)), Ok(()));
    // The day before Easter Monday 2027 (Sun) and Good Friday: first valid day is Tue 30 Mar.
    ok.collections
        .iter_mut()
        .for_each(|c| c.collection_date = date(2027, 3, 29));
    assert!(epc::validate(&ok, date(2027, 3, 25)).is_err());
    ok.collections
        .iter_mut()
        .for_each(|c| c.collection_date = date(2027, 3, 30));
    assert_eq!(epc::validate(&ok, date(2027, 3, 25)), Ok(()));
}

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/files")
            .join(name),
    )
    .unwrap()
}

#[test]
fn pain002_reads_accepted_and_rejected() {
    let r = pain002::read(&data("pain002-accepted-rejected.xml")).unwrap();
    assert_eq!(r.message_id, "STS-20261205-0001");
    assert_eq!(r.original_message_id, "MSG-2026-12-04-1");
    assert_eq!(r.original_message_name, "pain.008.001.08");
    assert_eq!(r.group_status, Some(Status::PartiallyAccepted));
    let txs = r.transactions();
    assert_eq!(txs.len(), 3);
    assert_eq!(txs[0].original_end_to_end_id, "E2E-1");
    assert!(txs[0].status.is_accepted());
    assert!(txs[0].reasons.is_empty());
    assert_eq!(txs[1].status, Status::Rejected);
    assert_eq!(txs[1].reasons[0].reason, Some(ReasonCode::AC04));
    assert_eq!(
        txs[1].reasons[0].additional_information,
        vec!["Account closed".to_owned()]
    );
    assert_eq!(txs[1].original_amount_minor, Some(1999));
    assert_eq!(txs[1].original_currency.as_deref(), Some("EUR"));
    assert_eq!(txs[1].original_payment_information_id, "MSG-2026-12-04-1-1");
    // No TxSts: the block's RJCT applies; the proprietary code has no SEPA meaning.
    assert_eq!(txs[2].status, Status::Rejected);
    assert_eq!(r.payments[1].reasons[0].code, "X123");
    assert_eq!(r.payments[1].reasons[0].reason, None);
}

#[test]
fn camt054_reads_returns_and_refund_requests() {
    let n = camt054::read(&data("camt054-returns.xml")).unwrap();
    assert_eq!(n.message_id, "CAMT054-20261210-01");
    assert_eq!(n.entries.len(), 3);
    let am04 = &n.entries[0];
    assert_eq!(am04.end_to_end_id.as_deref(), Some("E2E-1"));
    assert_eq!(am04.mandate_id.as_deref(), Some("MANDATE-1"));
    assert_eq!((am04.amount_minor, am04.currency.as_str()), (1999, "EUR"));
    assert_eq!(am04.credit_debit, CreditDebit::Debit);
    assert!(am04.reversal);
    assert_eq!(am04.status, "BOOK");
    assert_eq!(am04.booking_date, Some(date(2026, 12, 10)));
    assert_eq!(am04.account_iban.as_deref(), Some("DE89370400440532013000"));
    assert_eq!(
        am04.return_reason.as_ref().unwrap().reason,
        Some(ReasonCode::AM04)
    );
    let md06 = &n.entries[1];
    assert_eq!(md06.end_to_end_id.as_deref(), Some("E2E-4"));
    assert_eq!(md06.amount_minor, 4500);
    assert!(!md06.reversal);
    assert_eq!(
        md06.return_reason.as_ref().unwrap().reason,
        Some(ReasonCode::MD06)
    );
    assert_eq!(n.entries[2].amount_minor, 12050);
    assert_eq!(n.entries[2].credit_debit, CreditDebit::Credit);
    assert_eq!(n.returns().count(), 2);
}

fn malformed(result: Result<impl std::fmt::Debug, FileError>) -> (usize, usize, String) {
    match result {
        Err(FileError::Malformed {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("expected a located error, got {other:?}"),
    }
}

#[test]
fn hostile_and_malformed_files_are_located_errors() {
    // A DTD with an entity bomb: refused at the DOCTYPE, nothing expanded.
    let bomb = b"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>\n<Document>&lol2;</Document>";
    let (line, _, msg) = malformed(pain002::read(bomb));
    assert_eq!(line, 2);
    assert!(msg.contains("DTD"), "{msg}");
    // An undeclared entity.
    let (_, _, msg) = malformed(pain002::read(
        b"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.10\">&xxe;</Document>",
    ));
    assert!(msg.contains("entity"), "{msg}");
    // Mismatched tags, with line and column.
    let (line, column, _) = malformed(camt054::read(b"<Document>\n  <A>\n  </B>\n</Document>"));
    assert_eq!((line, column), (3, 3));
    // A second root element.
    let (line, _, msg) = malformed(pain002::read(b"<Document/>\n<Document/>"));
    assert_eq!(line, 2);
    assert!(msg.contains("after the root"), "{msg}");
    // Truncated.
    let truncated = &data("camt054-returns.xml")[..500];
    malformed(camt054::read(truncated));
    // Deep nesting.
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    let (_, _, msg) = malformed(pain002::read(deep.as_bytes()));
    assert!(msg.contains("levels"), "{msg}");
    // Too large.
    let big = vec![b' '; 9 * 1024 * 1024];
    assert!(matches!(
        pain002::read(&big),
        Err(FileError::TooLarge { .. })
    ));
    // The wrong message.
    let (_, _, msg) = malformed(pain002::read(&data("camt054-returns.xml")));
    assert!(msg.contains("not a pain.002"), "{msg}");
    // A required element missing, located at its parent.
    let no_e2e = String::from_utf8(data("pain002-accepted-rejected.xml"))
        .unwrap()
        .replace("<OrgnlEndToEndId>E2E-3</OrgnlEndToEndId>", "");
    let (line, _, msg) = malformed(pain002::read(no_e2e.as_bytes()));
    assert!(msg.contains("OrgnlEndToEndId"), "{msg}");
    assert_eq!(line, 45); // the <TxInfAndSts> that lacks it
    // A non-decimal amount.
    let bad_amount = String::from_utf8(data("camt054-returns.xml"))
        .unwrap()
        .replace(
            "<Amt Ccy=\"EUR\">45.00</Amt>",
            "<Amt Ccy=\"EUR\">45,00</Amt>",
        );
    let (_, _, msg) = malformed(camt054::read(bad_amount.as_bytes()));
    assert!(msg.contains("bad amount"), "{msg}");
}

#[test]
fn a_large_status_report_reads_in_one_pass() {
    // ~4 MiB, 40,000 transactions: the reader's line tracking must stay linear.
    let tx = "<TxInfAndSts><OrgnlEndToEndId>E2E-{i}</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>\n";
    let body: String = (0..40_000)
        .map(|i| tx.replace("{i}", &i.to_string()))
        .collect();
    let xml = format!(
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.10\"><CstmrPmtStsRpt><GrpHdr><MsgId>S</MsgId><CreDtTm>2026-12-05T08:00:00</CreDtTm></GrpHdr><OrgnlGrpInfAndSts><OrgnlMsgId>M</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId></OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>M-1</OrgnlPmtInfId>\n{body}</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>"
    );
    let started = std::time::Instant::now();
    let r = pain002::read(xml.as_bytes()).unwrap();
    assert_eq!(r.transactions().len(), 40_000);
    assert_eq!(r.transactions()[39_999].original_end_to_end_id, "E2E-39999");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// The text of every `<tag>` in `xml`, in order (a plain quick-xml read of the writer's output).
fn texts(xml: &[u8], tag: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let (mut out, mut inside) = (Vec::new(), false);
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) => inside = e.name().as_ref() == tag.as_bytes(),
            quick_xml::events::Event::Text(t) if inside => {
                out.push(t.decode().unwrap().into_owned())
            }
            quick_xml::events::Event::End(_) => inside = false,
            quick_xml::events::Event::Eof => return out,
            _ => {}
        }
    }
}

fn minor(decimal: &str) -> i64 {
    let (int, frac) = decimal.split_once('.').unwrap();
    assert_eq!(frac.len(), 2, "{decimal}");
    int.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pain008_amounts_round_trip_exactly(amounts in proptest::collection::vec(1i64..=99_999_999_999, 1..12)) {
        let mut b = batch();
        let template = b.collections[0].clone();
        b.collections = amounts.iter().enumerate().map(|(i, &a)| Collection {
            end_to_end_id: format!("E2E-{i}"),
            amount_minor: a,
            sequence: [SequenceType::Frst, SequenceType::Rcur, SequenceType::Ooff][i % 3],
            ..template.clone()
        }).collect();
        let xml = write(&b, Version::V08).unwrap();
        let instd: Vec<i64> = texts(&xml, "InstdAmt").iter().map(|t| minor(t)).collect();
        let mut sorted_in = amounts.clone();
        sorted_in.sort();
        let mut sorted_out = instd.clone();
        sorted_out.sort();
        prop_assert_eq!(sorted_out, sorted_in);
        let ctrl: Vec<i64> = texts(&xml, "CtrlSum").iter().map(|t| minor(t)).collect();
        prop_assert_eq!(ctrl[0], amounts.iter().sum::<i64>());
        prop_assert_eq!(ctrl[1..].iter().sum::<i64>(), ctrl[0]);
        prop_assert_eq!(texts(&xml, "NbOfTxs")[0].clone(), amounts.len().to_string());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn readers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = pain002::read(&bytes);
        let _ = camt054::read(&bytes);
    }

    #[test]
    fn readers_never_panic_on_mutated_samples(cut in 0usize..4000, byte in any::<u8>()) {
        for name in ["pain002-accepted-rejected.xml", "camt054-returns.xml"] {
            let mut d = data(name);
            let i = cut % d.len();
            d[i] = byte;
            let _ = pain002::read(&d);
            let _ = camt054::read(&d);
        }
    }

    #[test]
    fn transliteration_always_yields_sepa_latin(s in "\\PC{0,64}") {
        prop_assert!(epc::is_sepa_latin(&epc::transliterate(&s)));
    }
}

#[test]
fn the_blocks_of_a_written_file_read_back_as_its_payment_groups() {
    let b = batch();
    for version in [Version::V08, Version::V02] {
        let xml = write(&b, version).unwrap();
        let read = catalyst_sepa::pain008::blocks(&xml).unwrap();
        let expected: Vec<(String, Vec<String>)> = b
            .payment_groups()
            .into_iter()
            .map(|g| {
                let ids = g
                    .collections
                    .iter()
                    .map(|&i| b.collections[i].end_to_end_id.clone())
                    .collect();
                (g.payment_information_id, ids)
            })
            .collect();
        let got: Vec<(String, Vec<String>)> = read
            .into_iter()
            .map(|w| (w.payment_information_id, w.end_to_end_ids))
            .collect();
        assert_eq!(got, expected, "{version:?}");
        // FRST on the 7th (E2E-1, E2E-4), RCUR on the 7th, OOFF and FNAL on the 8th.
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].1, ["E2E-1", "E2E-4"]);
    }
}

#[test]
fn blocks_refuse_what_is_not_a_pain008() {
    let pain002 = br#"<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt/></Document>"#;
    assert!(catalyst_sepa::pain008::blocks(pain002).is_err());
    let missing_id = br#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"><CstmrDrctDbtInitn><PmtInf><DrctDbtTxInf/></PmtInf></CstmrDrctDbtInitn></Document>"#;
    assert!(catalyst_sepa::pain008::blocks(missing_id).is_err());
}
