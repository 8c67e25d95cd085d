//! The events of API.md §5 and their default payloads, emitted through the outbox inside the
//! transaction of the change. The payload keys are documented in `docs/webhooks.md`; the
//! `context` adds `lead`, `session` and `order` objects for `payload_mapping` paths such as
//! `lead.email`.

use catalyst_domain::WebhookProfileId;
use catalyst_domain::transaction::TransactionStatus;
use chrono::NaiveDateTime;
use serde_json::{Value, json};

use catalyst_domain::money::{Currency, Money};

use crate::outbox::{self, NewEvent};
use crate::payments::{Customer, Subscription, Transaction};
use crate::sessions::{Lead, Order, PaymentSession};
use crate::{DbConnection, StoreError, StoreResult};

/// `minor` units of `currency` as the API's decimal string.
pub(crate) fn money(minor: i64, currency: &str) -> StoreResult<String> {
    let c = Currency::parse(currency)
        .map_err(|_| StoreError::Corrupt(format!("currency {currency}")))?;
    Ok(Money::from_minor(minor, c)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
        .to_decimal_string())
}

fn metadata(session: &PaymentSession) -> Value {
    serde_json::from_str(&session.metadata).unwrap_or_else(|_| json!({}))
}

/// The rows every event refers to: an order and its lead, the session when there is one, and
/// the tenant and webhook profile the event goes to.
pub struct Subject<'a> {
    tenant_id: &'a catalyst_domain::TenantId,
    profile_id: Option<&'a WebhookProfileId>,
    session: Option<&'a PaymentSession>,
    order: &'a Order,
    /// The lead as the session presents it (its payer's fields).
    lead: &'a Lead,
}

impl<'a> Subject<'a> {
    /// The events of a session: its tenant and webhook profile.
    pub fn of_session(session: &'a PaymentSession, order: &'a Order, lead: &'a Lead) -> Self {
        Subject {
            tenant_id: &session.tenant_id,
            profile_id: session.webhook_profile_id.as_ref(),
            session: Some(session),
            order,
            lead,
        }
    }

    /// The events of an order without its session (a charge, a renewal, a refund), sent to
    /// the order's webhook profile.
    pub fn of_order(order: &'a Order, lead: &'a Lead) -> Self {
        Subject {
            tenant_id: &order.tenant_id,
            profile_id: order.webhook_profile_id.as_ref(),
            session: None,
            order,
            lead,
        }
    }

    fn session_token(&self) -> Option<&str> {
        self.session.map(|s| s.token.as_str())
    }

    fn context(&self) -> Value {
        let l = self.lead;
        let session = self.session.map(|s| {
            json!({"token": s.token, "mode": s.mode, "status": s.status,
                   "external_customer_id": s.external_customer_id})
        });
        json!({
            "lead": {"id": l.id, "email": l.email, "first_name": l.first_name, "last_name": l.last_name,
                     "country": l.country, "city": l.city, "postal_code": l.postal_code, "phone": l.phone},
            "session": session,
            "order": {"id": self.order.id, "order_number": self.order.order_number, "status": self.order.status},
        })
    }

    fn emit(
        &self,
        conn: &mut DbConnection,
        event_type: &'static str,
        payload: Value,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        outbox::emit(
            conn,
            NewEvent {
                tenant_id: self.tenant_id,
                profile_id: self.profile_id,
                event_type,
                payload,
                context: self.context(),
            },
            now,
        )
    }

    fn transaction_fields(&self, t: &Transaction) -> StoreResult<Value> {
        Ok(json!({
            "transaction_id": t.id, "merchant_transaction_id": t.merchant_transaction_id,
            "tenant_reference_id": t.tenant_reference_id, "type": t.kind, "status": t.status,
            "amount": money(t.amount_minor, &t.currency)?, "currency": t.currency,
            "gateway_reference": t.gateway_reference, "order_number": self.order.order_number,
            "session_token": self.session_token(), "email": self.lead.email,
            "error_code": t.error_code, "gateway_code": t.gateway_code,
        }))
    }

    /// `order.created`: a session and its order were created.
    pub fn order_created(&self, conn: &mut DbConnection, now: NaiveDateTime) -> StoreResult<()> {
        let Some(session) = self.session else {
            return Ok(());
        };
        let payload = json!({
            "order_id": self.order.id, "order_number": self.order.order_number, "status": self.order.status,
            "amount": money(self.order.amount_minor, &self.order.currency)?, "currency": self.order.currency,
            "session_token": self.session_token(), "email": self.lead.email, "metadata": metadata(session),
        });
        self.emit(conn, "order.created", payload, now)
    }

    /// `order.imported`: an order written by a CSV import.
    pub fn order_imported(&self, conn: &mut DbConnection, now: NaiveDateTime) -> StoreResult<()> {
        let payload = json!({
            "order_id": self.order.id, "order_number": self.order.order_number, "status": self.order.status,
            "amount": money(self.order.amount_minor, &self.order.currency)?, "currency": self.order.currency,
            "email": self.lead.email, "source": "import",
        });
        self.emit(conn, "order.imported", payload, now)
    }

    /// `payment_session.completed` / `.failed` / `.expired`.
    pub fn session_finished(
        &self,
        conn: &mut DbConnection,
        t: Option<&Transaction>,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let Some(session) = self.session else {
            return Ok(());
        };
        let event_type = match session.status.as_str() {
            "COMPLETED" => "payment_session.completed",
            "FAILED" => "payment_session.failed",
            "EXPIRED" => "payment_session.expired",
            _ => return Ok(()),
        };
        let mut payload = json!({
            "session_token": session.token, "status": session.status,
            "order_number": self.order.order_number,
            "amount": money(t.map_or(session.amount_minor, |t| t.amount_minor), &session.currency)?,
            "currency": session.currency, "email": self.lead.email,
            "tenant_reference_id": t.and_then(|t| t.tenant_reference_id.clone()),
            "metadata": metadata(session),
        });
        if event_type == "payment_session.failed" {
            payload["error_code"] = json!(t.and_then(|t| t.error_code.clone()));
        }
        self.emit(conn, event_type, payload, now)
    }

    /// `transaction.created`.
    pub fn transaction_created(
        &self,
        conn: &mut DbConnection,
        t: &Transaction,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let payload = self.transaction_fields(t)?;
        self.emit(conn, "transaction.created", payload, now)
    }

    /// `transaction.status_changed` from `previous` to the transaction's current status.
    pub fn transaction_status_changed(
        &self,
        conn: &mut DbConnection,
        t: &Transaction,
        previous: TransactionStatus,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let mut payload = self.transaction_fields(t)?;
        payload["previous_status"] = json!(previous);
        self.emit(conn, "transaction.status_changed", payload, now)
    }

    fn subscription_fields(&self, s: &Subscription) -> StoreResult<Value> {
        Ok(json!({
            "subscription_id": s.id, "status": s.status, "billing_frequency": s.billing_frequency,
            "amount": money(s.amount_minor, &s.currency)?, "currency": s.currency,
            "next_billing_date": s.next_billing_date.format("%Y-%m-%d").to_string(),
            "order_number": self.order.order_number, "customer_id": s.customer_id, "email": self.lead.email,
        }))
    }

    /// `subscription.created`.
    pub fn subscription_created(
        &self,
        conn: &mut DbConnection,
        s: &Subscription,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let payload = self.subscription_fields(s)?;
        self.emit(conn, "subscription.created", payload, now)
    }

    /// `subscription.status_changed` from `previous`.
    pub fn subscription_status_changed(
        &self,
        conn: &mut DbConnection,
        s: &Subscription,
        previous: &str,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let mut payload = self.subscription_fields(s)?;
        payload["previous_status"] = json!(previous);
        self.emit(conn, "subscription.status_changed", payload, now)
    }

    /// `subscription.updated`: the amount, the next billing date or `cancel_at_period_end`
    /// changed; `changes` maps each changed field to `{"previous", "current"}`.
    pub fn subscription_updated(
        &self,
        conn: &mut DbConnection,
        s: &Subscription,
        changes: Value,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let mut payload = self.subscription_fields(s)?;
        payload["cancel_at_period_end"] = json!(s.cancel_at_period_end);
        payload["changes"] = changes;
        self.emit(conn, "subscription.updated", payload, now)
    }

    /// `customer.created`.
    pub fn customer_created(
        &self,
        conn: &mut DbConnection,
        c: &Customer,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let payload = json!({
            "customer_id": c.id, "external_customer_id": c.external_customer_id,
            "email": self.lead.email, "session_token": self.session_token(),
        });
        self.emit(conn, "customer.created", payload, now)
    }
}

/// Loads the subject rows of a session: its order and its lead as the session presents it
/// (the payer's fields, [`crate::sessions::SessionPayer`]).
pub fn load_subject(
    conn: &mut DbConnection,
    session: &PaymentSession,
) -> StoreResult<(Order, Lead)> {
    Ok((
        Order::find_by_session(conn, &session.id)?,
        crate::sessions::lead_of_session(conn, session)?,
    ))
}

impl Subject<'_> {
    /// `chargeback.created`.
    pub fn chargeback_created(
        &self,
        conn: &mut DbConnection,
        t: &Transaction,
        c: &crate::chargebacks::Chargeback,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let payload = self.chargeback_fields(t, c)?;
        self.emit(conn, "chargeback.created", payload, now)
    }

    /// `chargeback.imported`: a reversal written by a CSV import.
    pub fn chargeback_imported(
        &self,
        conn: &mut DbConnection,
        t: &Transaction,
        c: &crate::chargebacks::Chargeback,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let mut payload = self.chargeback_fields(t, c)?;
        payload["source"] = json!("import");
        self.emit(conn, "chargeback.imported", payload, now)
    }

    /// `transaction.imported`: a debit written by a CSV import.
    pub fn transaction_imported(
        &self,
        conn: &mut DbConnection,
        t: &Transaction,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let mut payload = self.transaction_fields(t)?;
        payload["sequence_type"] = json!(t.sequence_type);
        payload["source"] = json!("import");
        self.emit(conn, "transaction.imported", payload, now)
    }

    fn chargeback_fields(
        &self,
        t: &Transaction,
        c: &crate::chargebacks::Chargeback,
    ) -> StoreResult<Value> {
        Ok(json!({
            "chargeback_id": c.id, "kind": c.kind, "reason_code": c.reason_code,
            "reason_description": c.reason_description, "error_code": c.error_code,
            "amount": money(c.amount_minor, &c.currency)?, "currency": c.currency,
            "report_date": c.report_date.format("%Y-%m-%d").to_string(),
            "transaction_id": t.id, "merchant_transaction_id": t.merchant_transaction_id,
            "tenant_reference_id": t.tenant_reference_id, "order_number": self.order.order_number,
            "session_token": self.session_token(), "email": self.lead.email,
        }))
    }
}

impl Subject<'_> {
    /// `refund.created`, `refund.succeeded` or `refund.failed` for the refund transaction `r`
    /// (its `status` decides the payload's: `pending`, `succeeded`, `failed`).
    pub fn refund_event(
        &self,
        conn: &mut DbConnection,
        event_type: &'static str,
        r: &Transaction,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let payload = json!({
            "refund_id": r.id, "transaction_id": r.refund_of,
            "merchant_transaction_id": r.merchant_transaction_id, "gateway_reference": r.gateway_reference,
            "status": refund_status(r.status), "amount": money(r.amount_minor, &r.currency)?,
            "currency": r.currency, "reason": r.description,
            "error_code": r.error_code, "error_message": r.error_message, "gateway_code": r.gateway_code,
            "order_id": self.order.id, "order_number": self.order.order_number,
            "order_status": self.order.status, "email": self.lead.email,
        });
        self.emit(conn, event_type, payload, now)
    }
}

/// A refund's status as the API shows it: its transaction's `pending`, `approved`, `declined`
/// as `pending`, `succeeded`, `failed`.
pub fn refund_status(transaction_status: TransactionStatus) -> &'static str {
    match transaction_status {
        TransactionStatus::Approved => "succeeded",
        TransactionStatus::Declined => "failed",
        _ => "pending",
    }
}

/// The events of recurring billing ([`crate::billing`]).
impl Subject<'_> {
    /// `subscription.renewed`: the renewal `t` collecting the period `billing_period` was
    /// approved; `s` is the subscription as it is after it (the next billing date advanced).
    pub fn subscription_renewed(
        &self,
        conn: &mut DbConnection,
        s: &Subscription,
        t: &Transaction,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let mut payload = self.renewal_fields(s, t)?;
        payload["subscription_status"] = json!(s.status);
        self.emit(conn, "subscription.renewed", payload, now)
    }

    /// `subscription.payment_failed`: the renewal `t` was declined; `attempt` is the number of
    /// the period's declined collections so far, `next_retry_on` the dunning retry (`None`
    /// once the ladder is exhausted or no retry is scheduled).
    pub fn subscription_payment_failed(
        &self,
        conn: &mut DbConnection,
        s: &Subscription,
        t: &Transaction,
        attempt: i32,
        next_retry_on: Option<chrono::NaiveDate>,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let mut payload = self.renewal_fields(s, t)?;
        payload["subscription_status"] = json!(s.status);
        payload["attempt"] = json!(attempt);
        payload["next_retry_on"] = json!(next_retry_on.map(|d| d.format("%Y-%m-%d").to_string()));
        self.emit(conn, "subscription.payment_failed", payload, now)
    }

    /// `subscription.upcoming`: the SEPA pre-notification of the collection on `collect_on`.
    pub fn subscription_upcoming(
        &self,
        conn: &mut DbConnection,
        s: &Subscription,
        collect_on: chrono::NaiveDate,
        mandate_reference: &str,
        creditor_identifier: Option<&str>,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let mut payload = self.subscription_fields(s)?;
        payload["collect_on"] = json!(collect_on.format("%Y-%m-%d").to_string());
        payload["mandate_reference"] = json!(mandate_reference);
        payload["creditor_identifier"] = json!(creditor_identifier);
        payload["plan_name"] = json!(s.plan_name);
        self.emit(conn, "subscription.upcoming", payload, now)
    }

    /// The transaction's keys, then the subscription's (its `status` as `subscription_status`
    /// is added by the caller; `status` stays the transaction's), and the billing period.
    fn renewal_fields(&self, s: &Subscription, t: &Transaction) -> StoreResult<Value> {
        let mut payload = self.subscription_fields(s)?;
        let Value::Object(fields) = self.transaction_fields(t)? else {
            return Err(StoreError::Corrupt("transaction fields".into()));
        };
        for (k, v) in fields {
            payload[k.as_str()] = v;
        }
        payload["billing_period"] =
            json!(t.billing_period.map(|d| d.format("%Y-%m-%d").to_string()));
        payload["billing_attempt"] = json!(t.billing_attempt);
        Ok(payload)
    }
}

impl Subject<'_> {
    /// `customer.deleted`: the customer was deleted and its mandate revoked.
    pub fn customer_deleted(
        &self,
        conn: &mut DbConnection,
        c: &Customer,
        mandate: Option<&crate::payments::Mandate>,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let payload = json!({
            "customer_id": c.id, "external_customer_id": c.external_customer_id,
            "email": self.lead.email, "status": c.status,
            "mandate_reference": mandate.map(|m| m.reference.clone()),
            "deleted_at": c.deleted_at.map(|d| d.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
        });
        self.emit(conn, "customer.deleted", payload, now)
    }

    /// `charge.succeeded` / `charge.failed`: a charge on a saved customer was approved or
    /// declined (its transaction's fields, the customer, description and metadata).
    pub fn charge_finished(
        &self,
        conn: &mut DbConnection,
        t: &Transaction,
        c: &Customer,
        metadata: Option<&Value>,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let event_type = match t.status {
            TransactionStatus::Approved => "charge.succeeded",
            TransactionStatus::Declined => "charge.failed",
            _ => return Ok(()),
        };
        let mut payload = self.transaction_fields(t)?;
        payload["customer_id"] = json!(c.id);
        payload["external_customer_id"] = json!(c.external_customer_id);
        payload["description"] = json!(t.description);
        payload["metadata"] = metadata.cloned().unwrap_or_else(|| json!({}));
        payload["sequence_type"] = json!(t.sequence_type);
        self.emit(conn, event_type, payload, now)
    }
}

/// `lead.imported`: a lead written by a CSV import, sent to `profile_id` (the import's webhook
/// profile). A lead has no order, so its context holds the lead alone.
pub fn lead_imported(
    conn: &mut DbConnection,
    lead: &Lead,
    profile_id: Option<&WebhookProfileId>,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let payload = json!({
        "lead_id": lead.id, "email": lead.email, "first_name": lead.first_name,
        "last_name": lead.last_name, "country": lead.country, "source": "import",
    });
    let context = json!({
        "lead": {"id": lead.id, "email": lead.email, "first_name": lead.first_name, "last_name": lead.last_name,
                 "country": lead.country, "city": lead.city, "postal_code": lead.postal_code, "phone": lead.phone},
        "session": null, "order": null,
    });
    outbox::emit(
        conn,
        NewEvent {
            tenant_id: &lead.tenant_id,
            profile_id,
            event_type: "lead.imported",
            payload,
            context,
        },
        now,
    )
}
