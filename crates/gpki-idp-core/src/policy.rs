//! Login policy (資安選項設定 → 啟用登入機制): per school and role, which login methods are
//! allowed. A role without a policy allows both; an account with several roles may use a
//! method any of its roles allows.

use serde::{Deserialize, Serialize};

/// Assurance level of a password login.
pub const ACR_PASSWORD: &str = "urn:gpki-idp:acr:password";
/// Assurance level of a citizen-certificate login (card + PIN).
pub const ACR_CERTIFICATE: &str = "urn:gpki-idp:acr:certificate";
/// Assurance level of a login with both the password and the card.
pub const ACR_PASSWORD_CERTIFICATE: &str = "urn:gpki-idp:acr:password+certificate";

/// The built-in roles (身份); a school may add its own.
pub const BUILTIN_ROLES: [&str; 5] = ["teacher", "staff", "student", "parent", "admin"];

/// The level of an acr value: password 1, certificate 2, password + certificate 3; `None` for
/// values this server does not know.
pub fn acr_level(acr: &str) -> Option<u8> {
    match acr {
        ACR_PASSWORD => Some(1),
        ACR_CERTIFICATE => Some(2),
        ACR_PASSWORD_CERTIFICATE => Some(3),
        _ => None,
    }
}

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
    pub fn factors(self) -> Factors {
        match self {
            Self::Password => Factors::PASSWORD,
            Self::Certificate => Factors::CARD,
            Self::PasswordAndCertificate => Factors::BOTH,
        }
    }

    /// The acr a login by this method gives.
    pub fn acr(self) -> &'static str {
        self.factors().acr()
    }
}

/// What a person has proved in one login: the password, the card, or both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factors {
    pub password: bool,
    pub card: bool,
}

impl Factors {
    pub const NONE: Factors = Factors {
        password: false,
        card: false,
    };
    pub const PASSWORD: Factors = Factors {
        password: true,
        card: false,
    };
    pub const CARD: Factors = Factors {
        password: false,
        card: true,
    };
    pub const BOTH: Factors = Factors {
        password: true,
        card: true,
    };

    pub fn union(self, other: Factors) -> Factors {
        Factors {
            password: self.password || other.password,
            card: self.card || other.card,
        }
    }

    /// Whether these factors include everything `other` needs.
    pub fn covers(self, other: Factors) -> bool {
        (self.password || !other.password) && (self.card || !other.card)
    }

    pub fn acr(self) -> &'static str {
        match (self.password, self.card) {
            (true, true) => ACR_PASSWORD_CERTIFICATE,
            (false, true) => ACR_CERTIFICATE,
            _ => ACR_PASSWORD,
        }
    }

    pub fn level(self) -> u8 {
        match (self.password, self.card) {
            (true, true) => 3,
            (false, true) => 2,
            (true, false) => 1,
            (false, false) => 0,
        }
    }

    /// RFC 8176 methods: `pwd` for the password; `sc`, `hwk`, `pin` and `mfa` for the card
    /// (something held and something known).
    pub fn amr(self) -> Vec<String> {
        let mut amr = Vec::new();
        if self.password {
            amr.push("pwd");
        }
        if self.card {
            amr.extend(["sc", "hwk", "pin", "mfa"]);
        }
        amr.into_iter().map(str::to_string).collect()
    }

    pub fn from_amr(amr: &[String]) -> Factors {
        Factors {
            password: amr.iter().any(|m| m == "pwd"),
            card: amr.iter().any(|m| m == "sc"),
        }
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

/// Whether an account with `roles` may use `step` (the password or the card) in a login: some
/// allowed method needs it.
pub fn allows(policies: &[RolePolicy], roles: &[String], step: Method) -> bool {
    let wanted = step.factors();
    allowed_methods(policies, roles)
        .iter()
        .any(|m| m.factors().covers(wanted))
}

/// What a login needs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// What was proved is allowed and strong enough.
    Complete,
    /// The card is still needed (step-up, or a role that needs both).
    Card,
    /// The password is still needed (a role that needs both, card given first).
    Password,
    /// No allowed method reaches the level asked for.
    Refused,
}

/// Given the allowed `methods`, what was proved (`done`) and the level asked for (`required`,
/// 0 for none), what the login needs next.
pub fn next_step(methods: &[Method], done: Factors, required: u8) -> Next {
    // Only factors some allowed method uses may be asked for: a role limited to the
    // password is not offered the card.
    let usable = methods
        .iter()
        .fold(Factors::NONE, |acc, m| acc.union(m.factors()));
    let enough = |f: Factors| {
        f.level() >= required && usable.covers(f) && methods.iter().any(|m| f.covers(m.factors()))
    };
    if enough(done) {
        return Next::Complete;
    }
    if enough(done.union(Factors::CARD)) && !done.card {
        return Next::Card;
    }
    if enough(done.union(Factors::PASSWORD)) && !done.password {
        return Next::Password;
    }
    if enough(Factors::BOTH) && !(done.password && done.card) {
        return if done.card {
            Next::Password
        } else {
            Next::Card
        };
    }
    Next::Refused
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
        let strict = vec![RolePolicy {
            role: "admin".into(),
            methods: vec![Method::PasswordAndCertificate],
        }];
        let admin = vec!["admin".to_string()];
        assert!(
            allows(&strict, &admin, Method::Password),
            "a step of password+certificate"
        );
        assert!(allows(&strict, &admin, Method::Certificate));
        assert!(
            allows(&policies, &["parent".to_string()], Method::Password),
            "no policy: allowed"
        );
    }

    #[test]
    fn next_step_asks_for_what_is_missing() {
        use Method::*;
        let both = [Password, Certificate];
        assert_eq!(next_step(&both, Factors::PASSWORD, 0), Next::Complete);
        assert_eq!(
            next_step(&both, Factors::PASSWORD, 2),
            Next::Card,
            "step-up"
        );
        assert_eq!(next_step(&both, Factors::CARD, 2), Next::Complete);
        assert_eq!(next_step(&both, Factors::CARD, 3), Next::Password);
        assert_eq!(next_step(&[Password], Factors::PASSWORD, 2), Next::Refused);
        let strict = [PasswordAndCertificate];
        assert_eq!(next_step(&strict, Factors::PASSWORD, 0), Next::Card);
        assert_eq!(next_step(&strict, Factors::CARD, 0), Next::Password);
        assert_eq!(next_step(&strict, Factors::BOTH, 3), Next::Complete);
        assert_eq!(
            next_step(&[Certificate], Factors::PASSWORD, 0),
            Next::Refused
        );
        assert_eq!(next_step(&[], Factors::BOTH, 0), Next::Refused);
    }

    #[test]
    fn factors_name_their_acr_and_amr() {
        assert_eq!(Factors::CARD.acr(), ACR_CERTIFICATE);
        assert_eq!(Factors::BOTH.amr(), ["pwd", "sc", "hwk", "pin", "mfa"]);
        assert_eq!(Factors::from_amr(&Factors::BOTH.amr()), Factors::BOTH);
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
    }
}
