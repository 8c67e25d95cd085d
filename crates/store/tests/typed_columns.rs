//! The domain's string enums as diesel `Text` values (`catalyst-domain`'s `diesel` feature):
//! written as their API strings, read back typed, and a stored string that is none of them is an
//! error rather than a default. On SQLite and on PostgreSQL.

use catalyst_domain::status::{CustomerStatus, SessionStatus};
use catalyst_domain::transaction::{OutcomeStatus, SequenceType, TransactionStatus};
use catalyst_domain::webhook::DeliveryStatus;
mod common;

use catalyst_store::outbox::WebhookDelivery;
use catalyst_store::{Customer, DbConnection, PageRequest};
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

    fn customer_delivery_and_outcome_statuses_are_typed(db) {
        let mut conn = db.store.conn().unwrap();
        for status in CustomerStatus::ALL {
            let back: CustomerStatus =
                both!(conn, |c| diesel::select(status.into_sql::<Text>()).get_result(c)).unwrap();
            assert_eq!(back, *status);
        }
        for status in DeliveryStatus::ALL {
            let back: DeliveryStatus =
                both!(conn, |c| diesel::select(status.into_sql::<Text>()).get_result(c)).unwrap();
            assert_eq!(back, *status);
        }
        for status in OutcomeStatus::ALL {
            let back: OutcomeStatus =
                both!(conn, |c| diesel::select(status.into_sql::<Text>()).get_result(c)).unwrap();
            assert_eq!(back, *status);
        }
        let deleted: CustomerStatus =
            both!(conn, |c| diesel::select(sql::<Text>("'DELETED'")).get_result(c)).unwrap();
        assert_eq!(deleted, CustomerStatus::Deleted);

        let err = both!(conn, |c| diesel::select(sql::<Text>("'active'")).get_result::<CustomerStatus>(c))
            .unwrap_err();
        assert!(format!("{err:?}").contains("stored CustomerStatus \\\"active\\\" is not one of its values"), "{err:?}");
        let err = both!(conn, |c| diesel::select(sql::<Text>("'sent'")).get_result::<DeliveryStatus>(c))
            .unwrap_err();
        assert!(format!("{err:?}").contains("stored DeliveryStatus \\\"sent\\\" is not one of its values"), "{err:?}");
        let err = both!(conn, |c| diesel::select(sql::<Text>("'completed'")).get_result::<OutcomeStatus>(c))
            .unwrap_err();
        assert!(format!("{err:?}").contains("stored OutcomeStatus \\\"completed\\\" is not one of its values"), "{err:?}");
    }

    fn a_customer_or_delivery_row_with_an_unknown_status_is_not_read(db) {
        let t = common::tenant(&db.store);
        let lead = common::lead(&t.id, "ada@example.de");
        db.store.write(|c| lead.insert(c)).unwrap();
        let at = catalyst_store::now();
        let customer = Customer {
            id: common::id().into(),
            tenant_id: t.id.clone(),
            lead_id: lead.id.clone(),
            external_customer_id: None,
            created_at: at,
            updated_at: at,
            session_id: None,
            gateway_id: None,
            mandate_id: None,
            status: CustomerStatus::Active,
            deleted_at: None,
        };
        db.store.write(|c| customer.insert(c)).unwrap();
        let (profile, _) = common::profile_with_endpoints(&db.store, &t.id, &[None]);
        common::emit(&db.store, &t.id, Some(&profile.id), "order.created");
        let page = PageRequest { size: 10, cursor: None };
        let listed = db.store.read(|c| WebhookDelivery::page_filtered(c, &t.id, Some(DeliveryStatus::Pending), None, &page)).unwrap();
        assert_eq!(listed.items.len(), 1);
        assert_eq!(Customer::find(&mut db.store.conn().unwrap(), &t.id, &customer.id).unwrap().status, CustomerStatus::Active);

        let mut conn = db.store.conn().unwrap();
        diesel::sql_query("UPDATE customers SET status = 'SUSPENDED'").execute(&mut *conn).unwrap();
        diesel::sql_query("UPDATE webhook_deliveries SET status = 'sent'").execute(&mut *conn).unwrap();
        let err = Customer::find(&mut conn, &t.id, &customer.id).unwrap_err();
        assert!(format!("{err:?}").contains("stored CustomerStatus"), "{err:?}");
        let err = WebhookDelivery::page_filtered(&mut conn, &t.id, None, None, &page).unwrap_err();
        assert!(format!("{err:?}").contains("stored DeliveryStatus"), "{err:?}");
    }
}
