//! The one portable diesel schema shared by both backends.
//!
//! Written by hand to match `migrations/{sqlite,postgres}`: only types both backends map the
//! same way (`Text`, `BigInt`, `Integer`, `Bool`). Times are epoch milliseconds in `BigInt`.

diesel::table! {
    nodes (id) {
        id -> BigInt,
        name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    admins (id) {
        id -> Text,
        username -> Text,
        username_key -> Text,
        password_hash -> Text,
        failed_logins -> Integer,
        locked_until -> Nullable<BigInt>,
        created_at -> BigInt,
        last_login_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    admin_sessions (id_hash) {
        id_hash -> Text,
        admin_id -> Text,
        csrf_token -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    sso_methods (sso_id) {
        sso_id -> BigInt,
        node_id -> BigInt,
        name -> Text,
        sp_entity_id -> Nullable<Text>,
        sp_key_pem -> Text,
        sp_cert_pem -> Text,
        idp_entity_id -> Nullable<Text>,
        idp_metadata_xml -> Nullable<Text>,
        idp_sso_post_url -> Nullable<Text>,
        idp_sso_redirect_url -> Nullable<Text>,
        idp_slo_url -> Nullable<Text>,
        idp_certs_json -> Text,
        jit -> Bool,
        idp_initiated -> Bool,
        clock_skew_secs -> Integer,
        sign_requests -> Bool,
        allow_sha1 -> Bool,
        require_signed -> Text,
        attr_email -> Nullable<Text>,
        attr_first_name -> Nullable<Text>,
        attr_last_name -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        require_encryption -> Bool,
        default_app_id -> Nullable<Text>,
    }
}

diesel::table! {
    sso_domains (domain) {
        domain -> Text,
        sso_id -> BigInt,
    }
}

diesel::table! {
    scim_methods (node_id) {
        node_id -> BigInt,
        token_hash -> Text,
        status -> Text,
        hard_delete -> Bool,
        username_policy -> Text,
        created_at -> BigInt,
        token_created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        node_id -> BigInt,
        user_name -> Text,
        user_name_key -> Text,
        external_id -> Nullable<Text>,
        email -> Nullable<Text>,
        email_key -> Nullable<Text>,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        display_name -> Nullable<Text>,
        attributes -> Text,
        status -> Text,
        provenance -> Text,
        scim_visible -> Bool,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    teams (id) {
        id -> Text,
        node_id -> BigInt,
        display_name -> Text,
        display_name_key -> Text,
        external_id -> Nullable<Text>,
        status -> Text,
        provenance -> Text,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
        approved_name -> Nullable<Text>,
    }
}

diesel::table! {
    memberships (team_id, user_id) {
        team_id -> Text,
        user_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        node_id -> Nullable<BigInt>,
        at -> BigInt,
        kind -> Text,
        actor -> Text,
        target -> Nullable<Text>,
        outcome -> Text,
        detail -> Text,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        node_id -> BigInt,
        sso_id -> Nullable<BigInt>,
        name_id -> Nullable<Text>,
        session_index -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        authn_instant -> Nullable<BigInt>,
        needs_confirmation -> Bool,
    }
}

diesel::table! {
    authn_requests (id) {
        id -> Text,
        sso_id -> BigInt,
        relay_state -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        browser_hash -> Nullable<Text>,
    }
}

diesel::table! {
    seen_assertions (sso_id, assertion_id) {
        sso_id -> BigInt,
        assertion_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    identity_links (sso_id, name_id_key) {
        sso_id -> BigInt,
        name_id_key -> Text,
        name_id -> Text,
        name_id_format -> Nullable<Text>,
        user_id -> Text,
        node_id -> BigInt,
        created_at -> BigInt,
        last_used_at -> BigInt,
    }
}

diesel::table! {
    oidc_apps (client_id) {
        client_id -> Text,
        name -> Text,
        name_key -> Text,
        client_type -> Text,
        secret_hash -> Nullable<Text>,
        secret_created_at -> Nullable<BigInt>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        all_nodes -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        initiate_login_uri -> Nullable<Text>,
    }
}

diesel::table! {
    oidc_keys (kid) {
        kid -> Text,
        alg -> Text,
        private_key_pem -> Text,
        public_jwk -> Text,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    oidc_authorizations (id_hash) {
        id_hash -> Text,
        client_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        state -> Nullable<Text>,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        node_id -> BigInt,
        sso_id -> BigInt,
        max_age -> Nullable<BigInt>,
        force_login -> Bool,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    oidc_codes (code_hash) {
        code_hash -> Text,
        grant_id -> Text,
        client_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        user_id -> Text,
        node_id -> BigInt,
        sso_id -> Nullable<BigInt>,
        auth_time -> BigInt,
        grant_ends_at -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    oidc_tokens (token_hash) {
        token_hash -> Text,
        kind -> Text,
        grant_id -> Text,
        client_id -> Text,
        user_id -> Text,
        node_id -> BigInt,
        sso_id -> Nullable<BigInt>,
        scope -> Text,
        auth_time -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    oidc_logouts (id_hash) {
        id_hash -> Text,
        client_id -> Text,
        redirect_uri -> Text,
        state -> Nullable<Text>,
        expires_at -> BigInt,
    }
}

diesel::table! {
    oidc_app_nodes (client_id, node_id) {
        client_id -> Text,
        node_id -> BigInt,
    }
}

diesel::table! {
    outbox_sequences (node_id) {
        node_id -> BigInt,
        last_seq -> BigInt,
    }
}

diesel::table! {
    outbox (node_id, seq) {
        node_id -> BigInt,
        seq -> BigInt,
        kind -> Text,
        subject_id -> Text,
        payload -> Text,
        created_at -> BigInt,
    }
}

diesel::joinable!(admin_sessions -> admins (admin_id));
diesel::joinable!(sso_methods -> nodes (node_id));
diesel::joinable!(sso_domains -> sso_methods (sso_id));
diesel::joinable!(scim_methods -> nodes (node_id));
diesel::joinable!(users -> nodes (node_id));
diesel::joinable!(teams -> nodes (node_id));
diesel::joinable!(memberships -> teams (team_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(authn_requests -> sso_methods (sso_id));
diesel::joinable!(seen_assertions -> sso_methods (sso_id));
diesel::joinable!(identity_links -> sso_methods (sso_id));
diesel::joinable!(identity_links -> users (user_id));
diesel::joinable!(oidc_app_nodes -> oidc_apps (client_id));
diesel::joinable!(oidc_app_nodes -> nodes (node_id));
diesel::joinable!(oidc_tokens -> users (user_id));
diesel::joinable!(oidc_codes -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    nodes,
    admins,
    settings,
    admin_sessions,
    sso_methods,
    sso_domains,
    scim_methods,
    users,
    teams,
    memberships,
    events,
    sessions,
    authn_requests,
    seen_assertions,
    identity_links,
    oidc_apps,
    oidc_app_nodes,
    oidc_keys,
    oidc_authorizations,
    oidc_codes,
    oidc_tokens,
    oidc_logouts,
    outbox_sequences,
    outbox,
);
