//! The `pii` step against Presidio's labelled synthetic sample. The floors are the figures measured
//! with `cargo run -p tamis-evals --bin eval_pii --release` when the detectors were written; a
//! change that lowers any of them is a regression.

use tamis_core::pii::Kind;
use tamis_tests::pii_eval::evaluate;
use tamis_tests::{read_jsonl, shared_data};

/// (kind, minimum precision, minimum recall), as measured on the 100 records.
const FLOORS: &[(Kind, f64, f64)] = &[
    (Kind::Email, 1.0, 1.0),
    (Kind::Phone, 1.0, 0.9),
    (Kind::Ssn, 1.0, 1.0),
    (Kind::CreditCard, 1.0, 1.0),
    (Kind::IpAddress, 1.0, 1.0),
    (Kind::Url, 1.0, 1.0),
];

#[test]
fn precision_and_recall_stay_above_the_measured_floors() {
    let records = read_jsonl(&shared_data("pii/presidio_generated_small.jsonl")).unwrap();
    assert_eq!(records.len(), 100);
    let eval = evaluate(&records).unwrap();
    for &(kind, precision, recall) in FLOORS {
        let c = &eval.per_kind[&kind];
        assert!(c.labels > 0, "{kind:?} has labels in the sample");
        assert!(
            c.precision() >= precision,
            "{kind:?} precision {} < {precision}: {:?}",
            c.precision(),
            eval.spurious
        );
        assert!(
            c.recall() >= recall,
            "{kind:?} recall {} < {recall}: {:?}",
            c.recall(),
            eval.missed
        );
    }
    // Nothing is found where Presidio labelled nothing (secrets, home paths, IBANs).
    assert!(eval.spurious.is_empty(), "{:?}", eval.spurious);
}

#[test]
fn every_labelled_email_card_and_ssn_is_found() {
    let records = read_jsonl(&shared_data("pii/presidio_generated_small.jsonl")).unwrap();
    let eval = evaluate(&records).unwrap();
    for kind in [Kind::Email, Kind::CreditCard, Kind::Ssn] {
        let c = &eval.per_kind[&kind];
        assert_eq!(c.labels_found, c.labels, "{kind:?}: {:?}", eval.missed);
    }
    assert_eq!(eval.per_kind[&Kind::Email].labels, 2);
    assert_eq!(eval.per_kind[&Kind::CreditCard].labels, 10);
    assert_eq!(eval.per_kind[&Kind::Ssn].labels, 3);
}
