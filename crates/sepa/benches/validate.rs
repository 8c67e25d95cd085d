//! `cargo bench -p catalyst-sepa`: over every corpus input, (a) our full validation with the
//! registry lookup, (b) `iban_validate`'s bare parse of the same inputs. Criterion reports the
//! time for the whole corpus and the throughput in IBANs per second; divide to get ns/IBAN.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../support/csv.rs"]
mod csv;

fn inputs() -> Vec<String> {
    let records = csv::parse(include_str!("../tests/data/iban-corpus.csv"));
    records
        .into_iter()
        .skip(1)
        .map(|mut r| r.swap_remove(0))
        .collect()
}

fn bench(c: &mut Criterion) {
    let inputs = inputs();
    let mut group = c.benchmark_group("corpus");
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.bench_function("catalyst_sepa::validate + registry", |b| {
        b.iter(|| {
            let mut banks = 0usize;
            for s in &inputs {
                if let Ok(iban) = catalyst_sepa::validate(black_box(s)) {
                    banks += usize::from(black_box(iban.bank()).is_some());
                }
            }
            banks
        })
    });
    group.bench_function("iban_validate parse", |b| {
        b.iter(|| {
            let mut valid = 0usize;
            for s in &inputs {
                valid +=
                    usize::from(black_box(black_box(s.as_str()).parse::<iban::Iban>()).is_ok());
            }
            valid
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
