//! The domain's string enums as diesel `Text` values (`catalyst-domain`'s `diesel` feature):
//! written as their API strings, read back typed, and a stored string that is none of them is an
//! error rather than a default. On SQLite and on PostgreSQL.

use catalyst_domain::status::SessionStatus;
use catalyst_domain::transaction::{SequenceType, TransactionStatus};
use catalyst_store::DbConnection;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Text;

/// Runs `query` on the concrete connection inside `conn`.
macro_rules! both {
    ($conn:expr, |$c:ident| $body:expr) => {
        match &mut *$conn {
            DbConnection::Postgres($c) => $body,
            DbConnection::Sqlite($c) => $body,
        }
    };
}

catalyst_store::test_both! {
    fn enums_round_trip_as_their_api_strings(db) {
        let mut conn = db.store.conn().unwrap();
        for status in TransactionStatus::ALL {
            let back: TransactionStatus =
                both!(conn, |c| diesel::select(status.into_sql::<Text>()).get_result(c)).unwrap();
            assert_eq!(back, *status);
            let text: String =
                both!(conn, |c| diesel::select(status.into_sql::<Text>()).get_result(c)).unwrap();
            assert_eq!(text, status.as_str());
        }
        let first: SequenceType =
            both!(conn, |c| diesel::select(sql::<Text>("'FRST'")).get_result(c)).unwrap();
        assert_eq!(first, SequenceType::First);
        let session: SessionStatus = both!(conn, |c| diesel::select(sql::<Text>("'PAYMENT_IN_PROGRESS'"))
            .get_result(c))
        .unwrap();
        assert_eq!(session, SessionStatus::PaymentInProgress);
    }

    fn a_stored_string_outside_the_enum_is_an_error(db) {
        let mut conn = db.store.conn().unwrap();
        let err = both!(conn, |c| diesel::select(sql::<Text>("'settled'"))
            .get_result::<TransactionStatus>(c))
        .unwrap_err();
        let err = format!("{err:?}");
        assert!(err.contains("stored TransactionStatus \\\"settled\\\" is not one of its values"), "{err}");
        // The API strings are case-sensitive.
        assert!(both!(conn, |c| diesel::select(sql::<Text>("'frst'")).get_result::<SequenceType>(c)).is_err());
    }
}
