//! Webhook deliveries: where one event's delivery to one endpoint stands.

use crate::macros::string_enum;

string_enum! {
    /// A webhook delivery's status.
    pub enum DeliveryStatus {
        /// Waiting for its next attempt.
        Pending => "pending",
        /// An attempt succeeded. Terminal until redelivered.
        Delivered => "delivered",
        /// The retry ladder is exhausted.
        Failed => "failed",
        /// The endpoint or its profile was deactivated (the reason is in `last_error`).
        Cancelled => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_strings_round_trip_and_others_are_refused() {
        for status in DeliveryStatus::ALL {
            assert_eq!(status.as_str().parse::<DeliveryStatus>(), Ok(*status));
        }
        assert!("PENDING".parse::<DeliveryStatus>().is_err());
        assert!("sent".parse::<DeliveryStatus>().is_err());
    }
}
