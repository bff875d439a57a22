//! What a person proves in a login: each way of proving is a [`Factor`], and what one login
//! has proved so far is a [`FactorSet`]. A new way to log in (a passkey, the mobile citizen
//! certificate, an upstream account) is a new variant of [`Factor`]: every `match` over it is
//! exhaustive, so the compiler lists each place that must say what the new factor is worth.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Assurance level of a password login.
pub const ACR_PASSWORD: &str = "urn:gpki-idp:acr:password";
/// Assurance level of a citizen-certificate login (card + PIN).
pub const ACR_CERTIFICATE: &str = "urn:gpki-idp:acr:certificate";
/// Assurance level of a login with both the password and the card.
pub const ACR_PASSWORD_CERTIFICATE: &str = "urn:gpki-idp:acr:password+certificate";

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

/// One factor of a login.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// The account's password (something known).
    Password,
    /// The citizen certificate on the card, unlocked with its PIN (something held and
    /// something known).
    Card,
}

impl Factor {
    /// Every factor.
    pub const ALL: [Factor; 2] = [Factor::Password, Factor::Card];

    /// The order in which a login page asks for a missing factor: the card first (it reaches
    /// the higher level alone), then the password.
    pub const ASK_ORDER: [Factor; 2] = [Factor::Card, Factor::Password];

    /// The name in audit events (`login.{name}`), metrics and the login API.
    pub fn name(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Card => "certificate",
        }
    }

    /// RFC 8176 authentication method references of this factor.
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            Self::Password => &["pwd"],
            Self::Card => &["sc", "hwk", "pin"],
        }
    }

    /// The assurance level the factor gives alone, and what it adds to others: the password
    /// 1, the card 2, so that both make 3.
    pub fn level(self) -> u8 {
        match self {
            Self::Password => 1,
            Self::Card => 2,
        }
    }

    /// Whether the factor alone is more than one factor (the card is held and its PIN known).
    fn is_multi_factor(self) -> bool {
        match self {
            Self::Password => false,
            Self::Card => true,
        }
    }

    fn bit(self) -> u8 {
        match self {
            Self::Password => 1,
            Self::Card => 2,
        }
    }
}

/// The factors proved in one login (or asked for by one login method).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FactorSet(u8);

impl FactorSet {
    pub const EMPTY: FactorSet = FactorSet(0);

    pub fn of(factors: &[Factor]) -> Self {
        factors
            .iter()
            .fold(Self::EMPTY, |set, factor| set.with(*factor))
    }

    pub fn with(self, factor: Factor) -> Self {
        Self(self.0 | factor.bit())
    }

    pub fn contains(self, factor: Factor) -> bool {
        self.0 & factor.bit() != 0
    }

    pub fn union(self, other: FactorSet) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether these factors include every one of `other`.
    pub fn covers(self, other: FactorSet) -> bool {
        other.0 & !self.0 == 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Factor> {
        Factor::ALL.into_iter().filter(move |f| self.contains(*f))
    }

    /// The assurance level: password 1, card 2, both 3, nothing 0.
    pub fn level(self) -> u8 {
        self.iter().map(Factor::level).sum()
    }

    /// The acr value of the level these factors reach.
    pub fn acr(self) -> &'static str {
        match self.level() {
            3.. => ACR_PASSWORD_CERTIFICATE,
            2 => ACR_CERTIFICATE,
            _ => ACR_PASSWORD,
        }
    }

    /// RFC 8176 methods, `mfa` when more than one factor was proved.
    pub fn amr(self) -> Vec<String> {
        let mut amr: Vec<String> = self
            .iter()
            .flat_map(|f| f.amr().iter().map(|m| m.to_string()))
            .collect();
        let factors = self.iter().count();
        if factors > 1 || self.iter().any(Factor::is_multi_factor) {
            amr.push("mfa".into());
        }
        amr
    }

    /// The factors a session's amr shows (the first method of each factor).
    pub fn from_amr(amr: &[String]) -> Self {
        Factor::ALL
            .into_iter()
            .filter(|f| amr.iter().any(|m| m == f.amr()[0]))
            .fold(Self::EMPTY, Self::with)
    }
}

/// Stored as the list of factor names (pending requests keep what a login proved so far).
impl Serialize for FactorSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for FactorSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::of(&Vec::<Factor>::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: FactorSet = FactorSet(3);

    #[test]
    fn levels_acr_and_amr() {
        let card = FactorSet::of(&[Factor::Card]);
        let password = FactorSet::of(&[Factor::Password]);
        assert_eq!([password.level(), card.level(), BOTH.level()], [1, 2, 3]);
        assert_eq!(card.acr(), ACR_CERTIFICATE);
        assert_eq!(BOTH.acr(), ACR_PASSWORD_CERTIFICATE);
        assert_eq!(password.amr(), ["pwd"]);
        assert_eq!(card.amr(), ["sc", "hwk", "pin", "mfa"]);
        assert_eq!(BOTH.amr(), ["pwd", "sc", "hwk", "pin", "mfa"]);
        assert_eq!(FactorSet::from_amr(&BOTH.amr()), BOTH);
        assert_eq!(FactorSet::from_amr(&[]), FactorSet::EMPTY);
    }

    #[test]
    fn covers_and_serde() {
        assert!(BOTH.covers(FactorSet::of(&[Factor::Card])));
        assert!(!FactorSet::of(&[Factor::Card]).covers(BOTH));
        assert!(FactorSet::EMPTY.covers(FactorSet::EMPTY));
        let json = serde_json::to_string(&BOTH).unwrap();
        assert_eq!(json, r#"["password","card"]"#);
        assert_eq!(serde_json::from_str::<FactorSet>(&json).unwrap(), BOTH);
    }
}
