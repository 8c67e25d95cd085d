//! The one diesel schema for both backends (portable column types only).

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        demo -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        tenant_id -> Text,
        kind -> Text,
        name -> Nullable<Text>,
        key_hash -> Text,
        key_prefix -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    gateways (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        adapter -> Text,
        descriptor -> Nullable<Text>,
        test_mode -> Bool,
        currency -> Text,
        creditor_name -> Nullable<Text>,
        creditor_identifier -> Nullable<Text>,
        credentials_sealed -> Nullable<Text>,
        requires_verification -> Bool,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    hosted_pages (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        logo_url -> Nullable<Text>,
        primary_color -> Nullable<Text>,
        accent_color -> Nullable<Text>,
        headline -> Nullable<Text>,
        show_product_name -> Bool,
        show_product_price -> Bool,
        show_product_description -> Bool,
        mandate_acceptance_mode -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        creditor_name -> Nullable<Text>,
        creditor_address -> Nullable<Text>,
        creditor_identifier -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_profiles (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        secret_sealed -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        tenant_id -> Text,
        profile_id -> Text,
        url -> Text,
        delivery_method -> Text,
        events -> Nullable<Text>,
        payload_mapping -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    campaigns (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        gateway_id -> Text,
        offer_name -> Text,
        price_minor -> BigInt,
        currency -> Text,
        billing_type -> Text,
        billing_frequency -> Nullable<Text>,
        trial_period -> Nullable<Integer>,
        trial_interval_unit -> Nullable<Text>,
        trial_price_minor -> Nullable<BigInt>,
        product_name -> Nullable<Text>,
        product_description -> Nullable<Text>,
        hosted_page_id -> Nullable<Text>,
        webhook_profile_id -> Nullable<Text>,
        max_payment_attempts -> Integer,
        duplicate_policy -> Text,
        success_redirect_url -> Nullable<Text>,
        failure_redirect_url -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        dunning_ladder -> Nullable<Text>,
        prenotification_days -> Nullable<Integer>,
    }
}

diesel::table! {
    leads (id) {
        id -> Text,
        tenant_id -> Text,
        email -> Text,
        email_normalized -> Text,
        first_name -> Text,
        last_name -> Text,
        country -> Text,
        address -> Nullable<Text>,
        city -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        phone -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payment_sessions (id) {
        id -> Text,
        tenant_id -> Text,
        token -> Text,
        status -> Text,
        mode -> Text,
        campaign_id -> Nullable<Text>,
        gateway_id -> Text,
        hosted_page_id -> Nullable<Text>,
        webhook_profile_id -> Nullable<Text>,
        lead_id -> Text,
        offer_snapshot -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        billing_type -> Text,
        billing_frequency -> Nullable<Text>,
        trial_period -> Nullable<Integer>,
        trial_interval_unit -> Nullable<Text>,
        trial_price_minor -> Nullable<BigInt>,
        offer_overrides -> Text,
        max_payment_attempts -> Integer,
        attempts_used -> Integer,
        customer_id -> Nullable<Text>,
        external_customer_id -> Nullable<Text>,
        return_url -> Nullable<Text>,
        default_locale -> Text,
        line_items -> Text,
        metadata -> Text,
        customer_ip -> Nullable<Text>,
        expires_at -> Timestamp,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    session_payers (session_id) {
        session_id -> Text,
        email -> Text,
        first_name -> Text,
        last_name -> Text,
        country -> Text,
        address -> Nullable<Text>,
        city -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        phone -> Nullable<Text>,
    }
}

diesel::table! {
    orders (id) {
        id -> Text,
        tenant_id -> Text,
        session_id -> Nullable<Text>,
        lead_id -> Text,
        order_number -> Text,
        status -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        customer_id -> Nullable<Text>,
        webhook_profile_id -> Nullable<Text>,
        metadata -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (tenant_id, idem_key) {
        tenant_id -> Text,
        idem_key -> Text,
        fingerprint -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    batches (id) {
        id -> Text,
        tenant_id -> Text,
        gateway_id -> Text,
        collection_date -> Date,
        pain_version -> Text,
        message_id -> Text,
        transaction_count -> Integer,
        control_sum_minor -> BigInt,
        file -> Binary,
        created_at -> Timestamp,
        creditor_id -> Nullable<Text>,
    }
}
diesel::table! {
    batch_transactions (transaction_id) {
        transaction_id -> Text,
        batch_id -> Text,
    }
}
diesel::table! {
    batch_imports (tenant_id, digest) {
        digest -> Text,
        tenant_id -> Text,
        gateway_id -> Text,
        kind -> Text,
        summary -> Text,
        imported_at -> Timestamp,
    }
}

diesel::joinable!(orders -> leads (lead_id));

diesel::table! {
    customers (id) {
        id -> Text,
        tenant_id -> Text,
        lead_id -> Text,
        external_customer_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        session_id -> Nullable<Text>,
        gateway_id -> Nullable<Text>,
        mandate_id -> Nullable<Text>,
        status -> Text,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mandates (id) {
        id -> Text,
        tenant_id -> Text,
        lead_id -> Text,
        customer_id -> Nullable<Text>,
        reference -> Text,
        iban_sealed -> Text,
        iban_last4 -> Text,
        iban_country -> Text,
        bic -> Nullable<Text>,
        bank_name -> Nullable<Text>,
        holder_sealed -> Text,
        sequence_type -> Text,
        signed_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        iban_masked -> Text,
        gateway_reference -> Nullable<Text>,
        revoked_at -> Nullable<Timestamp>,
        mandate_text -> Nullable<Text>,
        mandate_locale -> Nullable<Text>,
    }
}

diesel::table! {
    transactions (id) {
        id -> Text,
        tenant_id -> Text,
        session_id -> Nullable<Text>,
        order_id -> Text,
        gateway_id -> Text,
        mandate_id -> Text,
        merchant_transaction_id -> Text,
        tenant_reference_id -> Nullable<Text>,
        kind -> Text,
        status -> Text,
        sequence_type -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        gateway_reference -> Nullable<Text>,
        verification_url -> Nullable<Text>,
        error_code -> Nullable<Text>,
        error_message -> Nullable<Text>,
        gateway_code -> Nullable<Text>,
        gateway_message -> Nullable<Text>,
        counts_as_attempt -> Bool,
        processed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        recovery_attempts -> Integer,
        next_recovery_at -> Nullable<Timestamp>,
        subscription_id -> Nullable<Text>,
        billing_period -> Nullable<Date>,
        billing_attempt -> Nullable<Integer>,
        refund_of -> Nullable<Text>,
        refunded_minor -> BigInt,
        description -> Nullable<Text>,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> Text,
        tenant_id -> Text,
        session_id -> Nullable<Text>,
        order_id -> Text,
        lead_id -> Text,
        gateway_id -> Text,
        mandate_id -> Text,
        customer_id -> Nullable<Text>,
        status -> Text,
        billing_frequency -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        gateway_reference -> Nullable<Text>,
        next_billing_date -> Date,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        campaign_id -> Nullable<Text>,
        plan_name -> Nullable<Text>,
        anchor_date -> Date,
        periods_billed -> Integer,
        collect_on -> Nullable<Date>,
        dunning_attempts -> Integer,
        dunning_ladder -> Text,
        notice_days -> Integer,
        notice_on -> Nullable<Date>,
        cancel_at_period_end -> Bool,
        paused_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> Text,
        tenant_id -> Text,
        profile_id -> Nullable<Text>,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        tenant_id -> Text,
        event_id -> Text,
        endpoint_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        last_latency_ms -> Nullable<Integer>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Text,
        delivery_id -> Text,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        latency_ms -> Integer,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    chargebacks (id) {
        id -> Text,
        tenant_id -> Text,
        transaction_id -> Text,
        gateway_id -> Text,
        kind -> Text,
        reason_code -> Nullable<Text>,
        reason_description -> Nullable<Text>,
        error_code -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        gateway_reference -> Nullable<Text>,
        report_date -> Date,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(transactions -> payment_sessions (session_id));
diesel::joinable!(transactions -> mandates (mandate_id));
diesel::joinable!(chargebacks -> transactions (transaction_id));
diesel::joinable!(webhook_deliveries -> webhook_events (event_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_endpoints -> webhook_profiles (profile_id));

diesel::joinable!(batches -> gateways (gateway_id));
diesel::joinable!(batch_transactions -> batches (batch_id));
diesel::joinable!(batch_transactions -> transactions (transaction_id));

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    api_keys,
    gateways,
    hosted_pages,
    webhook_profiles,
    webhook_endpoints,
    campaigns,
    leads,
    payment_sessions,
    session_payers,
    orders,
    idempotency_keys,
    customers,
    mandates,
    transactions,
    subscriptions,
    webhook_events,
    webhook_deliveries,
    webhook_attempts,
    chargebacks,
    data_key_rotation,
    batches,
    batch_transactions,
    batch_imports,
    sandbox_ledger,
);

diesel::table! {
    data_key_rotation (target) {
        target -> Text,
        key_id -> Text,
        position -> Text,
        done -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sandbox_ledger (transaction_id) {
        transaction_id -> Text,
        reference -> Text,
        is_refund -> Bool,
        status -> Text,
        verification_url -> Nullable<Text>,
        decline_code -> Nullable<Text>,
        gateway_code -> Nullable<Text>,
        gateway_message -> Nullable<Text>,
        verify_decline -> Nullable<Text>,
        amount_minor -> BigInt,
        refunded_minor -> BigInt,
        test_iban -> Nullable<Text>,
        renewal_of -> Nullable<Text>,
        created_at -> Timestamp,
    }
}
