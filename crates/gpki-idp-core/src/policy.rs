//! Login policy (資安選項設定 → 啟用登入機制): per school and role, which login methods are
//! allowed. A role without a policy allows both; an account with several roles may use a
//! method any of its roles allows.

use serde::{Deserialize, Serialize};

use crate::factor::{Factor, FactorSet};

/// The built-in roles (身份); a school may add its own.
pub const BUILTIN_ROLES: [&str; 5] = ["teacher", "staff", "student", "parent", "admin"];

/// A login method (登入機制).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    #[serde(rename = "password")]
    Password,
    #[serde(rename = "certificate")]
    Certificate,
    /// The password and the card, both in one login.
    #[serde(rename = "password+certificate")]
    PasswordAndCertificate,
}

impl Method {
    pub const ALL: [Method; 3] = [
        Method::Password,
        Method::Certificate,
        Method::PasswordAndCertificate,
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Certificate => "certificate",
            Self::PasswordAndCertificate => "password+certificate",
        }
    }

    /// What a login must prove to count as this method.
    pub fn factors(self) -> FactorSet {
        match self {
            Self::Password => FactorSet::of(&[Factor::Password]),
            Self::Certificate => FactorSet::of(&[Factor::Card]),
            Self::PasswordAndCertificate => FactorSet::of(&[Factor::Password, Factor::Card]),
        }
    }

    /// The acr a login by this method gives.
    pub fn acr(self) -> &'static str {
        self.factors().acr()
    }
}

/// The allowed methods of one role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolePolicy {
    pub role: String,
    pub methods: Vec<Method>,
}

/// The methods an account with `roles` may use: those of any of its roles; a role without a
/// policy (and an account without roles) may use the password or the certificate.
pub fn allowed_methods(policies: &[RolePolicy], roles: &[String]) -> Vec<Method> {
    let default = [Method::Password, Method::Certificate];
    let mut methods: Vec<Method> = Vec::new();
    let mut add = |list: &[Method]| {
        for m in list {
            if !methods.contains(m) {
                methods.push(*m);
            }
        }
    };
    if roles.is_empty() {
        add(&default);
    }
    for role in roles {
        match policies.iter().find(|p| &p.role == role) {
            Some(p) => add(&p.methods),
            None => add(&default),
        }
    }
    methods
}

/// Whether an account with `roles` may prove `factor` in a login: some allowed method needs
/// it. Checked after every proof, whatever the factor.
pub fn allows(policies: &[RolePolicy], roles: &[String], factor: Factor) -> bool {
    allowed_methods(policies, roles)
        .iter()
        .any(|m| m.factors().contains(factor))
}

/// What a login needs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// What was proved is allowed and strong enough.
    Complete,
    /// This factor is still needed (step-up, or a role that needs two).
    Need(Factor),
    /// No allowed method reaches the level asked for.
    Refused,
}

/// Given the allowed `methods`, what was proved (`done`) and the level asked for (`required`,
/// 0 for none), what the login needs next.
pub fn next_step(methods: &[Method], done: FactorSet, required: u8) -> Next {
    // Only factors some allowed method uses may be asked for: a role limited to the
    // password is not offered the card.
    let usable = methods
        .iter()
        .fold(FactorSet::EMPTY, |acc, m| acc.union(m.factors()));
    let enough = |f: FactorSet| {
        f.level() >= required && usable.covers(f) && methods.iter().any(|m| f.covers(m.factors()))
    };
    if enough(done) {
        return Next::Complete;
    }
    let missing = || Factor::ASK_ORDER.into_iter().filter(|f| !done.contains(*f));
    // One more factor that is enough by itself, in the order a page asks for them.
    if let Some(next) = missing().find(|f| enough(done.with(*f))) {
        return Next::Need(next);
    }
    // Else the first missing factor of the smallest allowed method that is enough with what
    // was proved.
    methods
        .iter()
        .map(|m| m.factors().union(done))
        .filter(|target| enough(*target))
        .min_by_key(|target| target.iter().count())
        .and_then(|target| missing().find(|f| target.contains(*f)))
        .map_or(Next::Refused, Next::Need)
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
        let Some(ip) = ip.map(|ip| ip.to_canonical()) else {
            return false;
        };
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
        assert!(!allows(&policies, &teacher, Factor::Password));
        assert!(allows(&policies, &teacher, Factor::Card));
        let both = vec!["teacher".to_string(), "staff".to_string()];
        assert!(allows(&policies, &both, Factor::Password));
        let strict = vec![RolePolicy {
            role: "admin".into(),
            methods: vec![Method::PasswordAndCertificate],
        }];
        let admin = vec!["admin".to_string()];
        assert!(
            allows(&strict, &admin, Factor::Password),
            "a step of password+certificate"
        );
        assert!(allows(&strict, &admin, Factor::Card));
        assert!(
            allows(&policies, &["parent".to_string()], Factor::Password),
            "no policy: allowed"
        );
    }

    #[test]
    fn next_step_asks_for_what_is_missing() {
        use Method::*;
        let (pw, card) = (
            FactorSet::of(&[Factor::Password]),
            FactorSet::of(&[Factor::Card]),
        );
        let all = pw.union(card);
        let both = [Password, Certificate];
        assert_eq!(next_step(&both, pw, 0), Next::Complete);
        assert_eq!(next_step(&both, pw, 2), Next::Need(Factor::Card), "step-up");
        assert_eq!(next_step(&both, card, 2), Next::Complete);
        assert_eq!(next_step(&both, card, 3), Next::Need(Factor::Password));
        assert_eq!(next_step(&[Password], pw, 2), Next::Refused);
        let strict = [PasswordAndCertificate];
        assert_eq!(next_step(&strict, pw, 0), Next::Need(Factor::Card));
        assert_eq!(next_step(&strict, card, 0), Next::Need(Factor::Password));
        assert_eq!(next_step(&strict, all, 3), Next::Complete);
        assert_eq!(next_step(&[Certificate], pw, 0), Next::Refused);
        assert_eq!(next_step(&[], all, 0), Next::Refused);
    }

    #[test]
    fn methods_name_their_acr() {
        use crate::factor::{acr_level, ACR_CERTIFICATE, ACR_PASSWORD_CERTIFICATE};
        assert_eq!(Method::Certificate.acr(), ACR_CERTIFICATE);
        assert_eq!(
            Method::PasswordAndCertificate.acr(),
            ACR_PASSWORD_CERTIFICATE
        );
        assert_eq!(acr_level(ACR_PASSWORD_CERTIFICATE), Some(3));
        assert_eq!(
            Method::parse("password+certificate"),
            Some(Method::PasswordAndCertificate)
        );
        assert_eq!(
            serde_json::to_string(&Method::PasswordAndCertificate).unwrap(),
            "\"password+certificate\""
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
        // A dual-stack listener's view of an IPv4 client.
        assert!(campus.allows_address(Some("::ffff:10.1.2.3".parse().unwrap())));
    }
}
