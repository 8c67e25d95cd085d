//! Recurring billing: the plan terms a subscription keeps (dunning ladder, notice) and the
//! renewals the billing run collects.

use catalyst_domain::dunning::{DEFAULT_NOTICE_DAYS, DunningLadder};

use crate::config::Campaign;
use crate::sessions::PaymentSession;
use crate::{DbConnection, StoreError, StoreResult};

/// The terms a new subscription copies from its campaign (or the defaults).
#[derive(Debug, Clone)]
pub struct Plan {
    /// The offer's name, shown in the subscription API.
    pub name: Option<String>,
    /// Waits before retries of a declined renewal.
    pub dunning_ladder: DunningLadder,
    /// Days of SEPA pre-notification.
    pub notice_days: u32,
}

impl Plan {
    /// The terms of `campaign`, or the defaults without one.
    pub fn of_campaign(campaign: Option<&Campaign>) -> StoreResult<Plan> {
        let Some(k) = campaign else {
            return Ok(Plan {
                name: None,
                dunning_ladder: DunningLadder::default(),
                notice_days: DEFAULT_NOTICE_DAYS,
            });
        };
        let corrupt = |what: &str| StoreError::Corrupt(format!("campaign {} {what}", k.id));
        Ok(Plan {
            name: Some(k.offer_name.clone()),
            dunning_ladder: match &k.dunning_ladder {
                Some(l) => l.parse().map_err(|_| corrupt("dunning_ladder"))?,
                None => DunningLadder::default(),
            },
            notice_days: match k.prenotification_days {
                Some(d) => u32::try_from(d).map_err(|_| corrupt("prenotification_days"))?,
                None => DEFAULT_NOTICE_DAYS,
            },
        })
    }

    /// The terms of the campaign `session` was created from (the defaults in direct mode).
    pub fn of_session(conn: &mut DbConnection, session: &PaymentSession) -> StoreResult<Plan> {
        let campaign = match &session.campaign_id {
            Some(id) => Some(Campaign::find(conn, &session.tenant_id, id)?),
            None => None,
        };
        let mut plan = Plan::of_campaign(campaign.as_ref())?;
        if plan.name.is_none() {
            let offer: serde_json::Value =
                serde_json::from_str(&session.offer_snapshot).unwrap_or_default();
            plan.name = offer["name"].as_str().map(str::to_owned);
        }
        Ok(plan)
    }
}

/// Applies the gateway's answer to a renewal.
pub fn apply_renewal(
    _conn: &mut DbConnection,
    transaction_id: &str,
    _settlement: &crate::payments::Settlement,
    _now: chrono::NaiveDateTime,
) -> StoreResult<()> {
    Err(StoreError::Corrupt(format!(
        "renewal {transaction_id}: renewals are not collected yet"
    )))
}
