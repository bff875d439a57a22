//! Login policy (資安選項設定 → 啟用登入機制): per school and role, which login methods are
//! allowed. A role without a policy allows both; an account with several roles may use a
//! method any of its roles allows.

use serde::{Deserialize, Serialize};

/// A login method (登入機制).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Password,
    Certificate,
}

impl Method {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "password" => Some(Self::Password),
            "certificate" => Some(Self::Certificate),
            _ => None,
        }
    }
}

/// The allowed methods of one role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolePolicy {
    pub role: String,
    pub methods: Vec<Method>,
}

/// Whether an account with `roles` may log in with `method` under `policies`.
pub fn allows(policies: &[RolePolicy], roles: &[String], method: Method) -> bool {
    roles
        .iter()
        .any(|role| match policies.iter().find(|p| &p.role == role) {
            Some(p) => p.methods.contains(&method),
            None => true,
        })
        || roles.is_empty()
}

/// Where and how a school lets teachers register a card (seed chapter 2: 校內).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationRules {
    /// Campus network ranges (CIDR); empty: from anywhere.
    pub campus_cidrs: Vec<String>,
    /// A one-time enrollment code issued by the school's GM is required.
    pub require_enrollment_code: bool,
}

impl RegistrationRules {
    /// Whether `ip` may register under these rules; unparsable ranges never match.
    pub fn allows_address(&self, ip: Option<std::net::IpAddr>) -> bool {
        if self.campus_cidrs.is_empty() {
            return true;
        }
        let Some(ip) = ip else { return false };
        self.campus_cidrs
            .iter()
            .filter_map(|c| c.parse::<ipnet::IpNet>().ok())
            .any(|net| net.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_without_policy_allow_both_and_any_role_may_allow() {
        let policies = vec![
            RolePolicy {
                role: "teacher".into(),
                methods: vec![Method::Certificate],
            },
            RolePolicy {
                role: "staff".into(),
                methods: vec![Method::Password, Method::Certificate],
            },
        ];
        let teacher = vec!["teacher".to_string()];
        assert!(!allows(&policies, &teacher, Method::Password));
        assert!(allows(&policies, &teacher, Method::Certificate));
        let both = vec!["teacher".to_string(), "staff".to_string()];
        assert!(allows(&policies, &both, Method::Password));
        assert!(
            allows(&policies, &["parent".to_string()], Method::Password),
            "no policy: allowed"
        );
    }

    #[test]
    fn campus_ranges() {
        let open = RegistrationRules::default();
        assert!(open.allows_address(None));
        let campus = RegistrationRules {
            campus_cidrs: vec!["10.1.0.0/16".into(), "2001:db8::/32".into(), "junk".into()],
            require_enrollment_code: false,
        };
        assert!(campus.allows_address(Some("10.1.2.3".parse().unwrap())));
        assert!(!campus.allows_address(Some("10.2.0.1".parse().unwrap())));
        assert!(campus.allows_address(Some("2001:db8::1".parse().unwrap())));
        assert!(!campus.allows_address(None));
    }
}
