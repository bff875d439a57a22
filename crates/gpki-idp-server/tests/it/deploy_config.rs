//! The configuration files shipped in deploy/ are read by the service's own parser (unknown
//! keys are refused), so a renamed setting cannot leave them silently wrong.

use gpki_idp_server::config::Config;

fn deploy(path: &str) -> String {
    let full = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/").to_string() + path;
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn check(name: &str, text: &str) -> Config {
    let config: Config = toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    gpki_idp_server::proxy::parse_ranges(&config.trusted_proxies).unwrap();
    assert!(
        matches!(config.log_format.as_str(), "json" | "text"),
        "{name}"
    );
    assert!(config.redis_url.is_some(), "{name}: replicas share Redis");
    assert!(
        !config.migrate_on_start,
        "{name}: migrations run once, before the replicas"
    );
    assert!(!config.certificate.trust_anchors.is_empty(), "{name}");
    config
}

#[test]
fn the_compose_configuration_is_valid() {
    let c = check("compose", &deploy("compose/gpki-idp.toml"));
    assert!(c.database_url.unwrap().starts_with("postgres://"));
}

#[test]
fn the_kubernetes_configmap_is_valid() {
    let map: serde_norway::Value =
        serde_norway::from_str(&deploy("kubernetes/configmap.yaml")).unwrap();
    let text = map["data"]["gpki-idp.toml"]
        .as_str()
        .expect("gpki-idp.toml in the ConfigMap");
    let c = check("configmap", text);
    assert!(
        c.public_url.unwrap().starts_with("https://"),
        "Secure cookies in production"
    );
}
