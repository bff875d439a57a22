//! Diesel table definitions, the same for PostgreSQL and SQLite (see migrations/).

diesel::table! {
    schools (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        disabled -> Bool,
        created_at -> BigInt,
        district -> Bool,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        school_id -> BigInt,
        username -> Text,
        subject -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        roles -> Text,
        disabled -> Bool,
        created_at -> BigInt,
        password_must_change -> Bool,
        password_changed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    password_history (id) {
        id -> BigInt,
        school_id -> BigInt,
        user_id -> BigInt,
        password_hash -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    password_policies (school_id) {
        school_id -> BigInt,
        policy -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    clients (id) {
        id -> BigInt,
        school_id -> BigInt,
        client_id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        public_client -> Bool,
        require_pkce -> Bool,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        id_token_alg -> Text,
        jwks -> Nullable<Text>,
        created_at -> BigInt,
        allowed_scopes -> Text,
        default_acr_values -> Text,
        min_acr -> Nullable<Text>,
        refresh_reuse_grace_secs -> Nullable<BigInt>,
        backchannel_logout_uri -> Nullable<Text>,
        backchannel_logout_session_required -> Bool,
    }
}

diesel::table! {
    signing_keys (id) {
        id -> BigInt,
        school_id -> BigInt,
        kid -> Text,
        alg -> Text,
        private_pkcs8 -> Binary,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        school_id -> BigInt,
        client_id -> Text,
        user_id -> BigInt,
        scope -> Text,
        auth_time -> BigInt,
        acr -> Text,
        amr -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used -> Bool,
        revoked -> Bool,
        session_id -> Nullable<Text>,
    }
}

diesel::table! {
    cert_bindings (id) {
        id -> BigInt,
        school_id -> BigInt,
        user_id -> BigInt,
        cert_sha256 -> Text,
        serial_hex -> Text,
        issuer_dn -> Text,
        subject_cn -> Text,
        not_after -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    login_policies (school_id, role) {
        school_id -> BigInt,
        role -> Text,
        methods -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    registration_rules (school_id) {
        school_id -> BigInt,
        campus_cidrs -> Text,
        require_enrollment_code -> Bool,
        updated_at -> BigInt,
    }
}

diesel::table! {
    enrollment_codes (id) {
        id -> BigInt,
        code_hash -> Text,
        school_id -> BigInt,
        user_id -> BigInt,
        expires_at -> BigInt,
        used -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        school_id -> BigInt,
        at -> BigInt,
        event -> Text,
        outcome -> Text,
        actor -> Text,
        subject_user -> Nullable<Text>,
        client_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    school_roles (school_id, role) {
        school_id -> BigInt,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        school_id -> BigInt,
        user_id -> BigInt,
        acr -> Text,
        amr -> Text,
        auth_time -> BigInt,
        expires_at -> BigInt,
        revoked -> Bool,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        cert_sha256 -> Nullable<Text>,
    }
}

diesel::table! {
    session_clients (session_id, client_id) {
        session_id -> Text,
        client_id -> Text,
        school_id -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    logout_messages (id) {
        id -> BigInt,
        school_id -> BigInt,
        client_id -> Text,
        uri -> Text,
        session_id -> Text,
        subject -> Text,
        created_at -> BigInt,
        next_at -> BigInt,
        claimed_until -> BigInt,
        attempts -> BigInt,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    school_branding (school_id) {
        school_id -> BigInt,
        colour -> Nullable<Text>,
        logo -> Nullable<Binary>,
        logo_type -> Nullable<Text>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    service_secrets (name) {
        name -> Text,
        value -> Binary,
        created_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    cert_bindings,
    enrollment_codes,
    sessions,
    session_clients,
    clients
);
