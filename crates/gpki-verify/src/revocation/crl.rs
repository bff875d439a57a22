//! CRLs (RFC 5280 §5): parsed, signature-checked and indexed by serial once, off the login
//! path; looked up in O(1) during a login. A multi-megabyte CRL (MOICA G2: ~20 MB, ~412k
//! entries) is walked with a zero-copy reader into a hash set of fixed-size keys, so an
//! index costs ~40 bytes per entry and no per-entry allocation.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::clock::after;
use crate::algorithm;
use crate::error::{RevocationSource, SourceFailure};
use crate::path::CaCertificate;
use crate::tlv::{self, Tlv};

pub(crate) fn failure(code: &'static str, detail: impl Into<String>) -> SourceFailure {
    SourceFailure {
        source: RevocationSource::Crl,
        code,
        detail: detail.into(),
    }
}

/// A serial number as a hash key: up to 20 bytes (RFC 5280's limit), leading zeros dropped.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct SerialKey {
    len: u8,
    bytes: [u8; 20],
}

impl SerialKey {
    fn new(serial: &[u8]) -> Option<Self> {
        let skip = serial.iter().take_while(|&&b| b == 0).count();
        let serial = &serial[skip.min(serial.len().saturating_sub(1))..];
        if serial.len() > 20 {
            return None;
        }
        let mut bytes = [0u8; 20];
        bytes[..serial.len()].copy_from_slice(serial);
        Some(Self {
            len: serial.len() as u8,
            bytes,
        })
    }
}

/// An indexed CRL.
pub struct CrlIndex {
    /// SHA-256 of the DER of the CA certificate whose key signed this CRL.
    pub issuer_sha256: String,
    pub this_update: SystemTime,
    pub next_update: Option<SystemTime>,
    /// Number of revoked entries.
    pub entries: usize,
    /// Size of the DER CRL.
    pub bytes: usize,
    revoked: HashSet<SerialKey>,
    /// Serials over 20 bytes (non-conforming CAs), kept apart.
    long_serials: HashSet<Vec<u8>>,
}

impl CrlIndex {
    /// Whether `serial` (DER INTEGER contents) is on the list.
    pub fn is_revoked(&self, serial: &[u8]) -> bool {
        match SerialKey::new(serial) {
            Some(key) => self.revoked.contains(&key),
            None => self.long_serials.contains(serial),
        }
    }

    /// Heap bytes held by the index: table capacity × (key + control byte), plus long serials.
    pub fn heap_bytes(&self) -> usize {
        let table = self.revoked.capacity() * (std::mem::size_of::<SerialKey>() + 1);
        let long: usize = self.long_serials.iter().map(|s| s.capacity() + 32).sum();
        table + long
    }

    /// Whether the list is past its nextUpdate (plus skew) at `now`.
    pub fn expired(&self, now: SystemTime, skew: Duration) -> bool {
        self.next_update.is_some_and(|next| passed(next, skew, now))
    }
}

impl std::fmt::Debug for CrlIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrlIndex")
            .field("issuer_sha256", &self.issuer_sha256)
            .field("entries", &self.entries)
            .field("this_update", &self.this_update)
            .field("next_update", &self.next_update)
            .finish()
    }
}

/// The fields of a tbsCertList we use.
struct TbsFields<'a> {
    signature_alg: Tlv<'a>,
    issuer: &'a [u8],
    this_update: SystemTime,
    next_update: Option<SystemTime>,
    revoked: Option<&'a [u8]>,
    extensions: Option<&'a [u8]>,
}

/// Parses, verifies and indexes a DER CRL signed by one of `cas`.
pub fn index(
    der: &[u8],
    cas: &[std::sync::Arc<CaCertificate>],
    now: SystemTime,
    skew: Duration,
) -> Result<CrlIndex, SourceFailure> {
    let (tbs, alg, signature, fields) = parse(der)?;
    let issuer = cas
        .iter()
        .filter(|ca| ca.subject_der == fields.issuer)
        .find(|ca| algorithm::verify(&alg, None, &ca.key, tbs, signature, false).is_ok())
        .ok_or_else(|| failure("crl_bad_signature", "no configured CA signed this CRL"))?;
    if fields.this_update > after(now, skew) {
        return Err(failure("crl_not_yet_valid", "thisUpdate is in the future"));
    }
    if fields
        .next_update
        .is_some_and(|next| passed(next, skew, now))
    {
        return Err(failure("crl_expired", "nextUpdate has passed"));
    }
    let (revoked, long_serials) = index_entries(fields.revoked)?;
    Ok(CrlIndex {
        issuer_sha256: algorithm::sha256_hex(&issuer.der),
        this_update: fields.this_update,
        next_update: fields.next_update,
        entries: revoked.len() + long_serials.len(),
        bytes: der.len(),
        revoked,
        long_serials,
    })
}

type Parsed<'a> = (&'a [u8], Tlv<'a>, &'a [u8], TbsFields<'a>);

/// The signed part, algorithm, signature and fields of a DER CRL, unverified.
fn parse(der: &[u8]) -> Result<Parsed<'_>, SourceFailure> {
    let (tbs, alg, signature) =
        tlv::split_signed(der).ok_or_else(|| failure("crl_malformed", "not a CRL"))?;
    let fields = tbs_fields(tbs).ok_or_else(|| failure("crl_malformed", "bad tbsCertList"))?;
    if fields.signature_alg.raw != alg.raw {
        return Err(failure(
            "crl_malformed",
            "inner and outer signature algorithms differ",
        ));
    }
    check_extensions(fields.extensions)?;
    Ok((tbs, alg, signature, fields))
}

/// Every parsing step of [`index`] on untrusted bytes, without the signature check: the
/// entry point of the `crl` fuzz target. Returns the number of entries.
#[doc(hidden)]
pub fn fuzz_parse(der: &[u8]) -> Result<usize, SourceFailure> {
    let (_, _, _, fields) = parse(der)?;
    let (keys, long) = index_entries(fields.revoked)?;
    Ok(keys.len() + long.len())
}

/// Whether `deadline + skew` is before `now`.
fn passed(deadline: SystemTime, skew: Duration, now: SystemTime) -> bool {
    after(deadline, skew) < now
}

fn tbs_fields(tbs: &[u8]) -> Option<TbsFields<'_>> {
    let (outer, _) = tlv::read(tbs)?;
    let mut fields = tlv::children(outer.value)?.into_iter().peekable();
    if fields.peek()?.tag == 0x02 {
        fields.next(); // version
    }
    let signature_alg = fields.next()?;
    let issuer = fields.next()?.raw;
    let this_update = parse_time(&fields.next()?)?;
    let mut out = TbsFields {
        signature_alg,
        issuer,
        this_update,
        next_update: None,
        revoked: None,
        extensions: None,
    };
    for field in fields {
        match field.tag {
            0x17 | 0x18 => out.next_update = Some(parse_time(&field)?),
            0x30 => out.revoked = Some(field.value),
            0xa0 => out.extensions = Some(field.value),
            _ => return None,
        }
    }
    Some(out)
}

/// Delta CRLs and unknown critical extensions are refused.
fn check_extensions(extensions: Option<&[u8]>) -> Result<(), SourceFailure> {
    let Some(explicit) = extensions else {
        return Ok(());
    };
    let bad = || failure("crl_malformed", "bad CRL extensions");
    let (seq, _) = tlv::read(explicit).ok_or_else(bad)?;
    for ext in tlv::children(seq.value).ok_or_else(bad)? {
        let parts = tlv::children(ext.value).ok_or_else(bad)?;
        let oid = const_oid::ObjectIdentifier::from_bytes(parts.first().ok_or_else(bad)?.value)
            .map_err(|_| bad())?
            .to_string();
        let critical = parts
            .get(1)
            .is_some_and(|p| p.tag == 0x01 && p.value == [0xff]);
        match oid.as_str() {
            "2.5.29.27" => return Err(failure("crl_unsupported", "delta CRLs are not supported")),
            // crlNumber, authorityKeyIdentifier, issuingDistributionPoint, freshestCRL
            "2.5.29.20" | "2.5.29.35" | "2.5.29.28" | "2.5.29.46" => {}
            other if critical => {
                return Err(failure(
                    "crl_unsupported",
                    format!("critical extension {other}"),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

type Index = (HashSet<SerialKey>, HashSet<Vec<u8>>);

fn index_entries(revoked: Option<&[u8]>) -> Result<Index, SourceFailure> {
    let mut keys = HashSet::new();
    let mut long = HashSet::new();
    let mut rest = revoked.unwrap_or_default();
    // Roughly 35 bytes per entry in real CRLs: reserve once instead of rehashing.
    keys.reserve(rest.len() / 35);
    while !rest.is_empty() {
        let (entry, next) = tlv::read(rest).ok_or_else(|| failure("crl_malformed", "bad entry"))?;
        rest = next;
        let (serial, _) =
            tlv::read(entry.value).ok_or_else(|| failure("crl_malformed", "bad entry serial"))?;
        if serial.tag != 0x02 {
            return Err(failure("crl_malformed", "entry without serial"));
        }
        match SerialKey::new(serial.value) {
            Some(key) => {
                keys.insert(key);
            }
            None => {
                long.insert(serial.value.to_vec());
            }
        }
    }
    Ok((keys, long))
}

/// Parses UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ).
pub(crate) fn parse_time(t: &Tlv<'_>) -> Option<SystemTime> {
    // Digits only, checked on bytes: slicing text with multi-byte characters would panic,
    // and `str::parse` would take a sign.
    let digits = t.value.strip_suffix(b"Z")?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |i: usize, n: usize| -> Option<i32> {
        let part = digits.get(i..i + n)?;
        Some(part.iter().fold(0, |acc, d| acc * 10 + i32::from(d - b'0')))
    };
    let (year, at) = match (t.tag, digits.len()) {
        (0x17, 12) => {
            let yy = num(0, 2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (0x18, 14) => (num(0, 4)?, 4),
        _ => return None,
    };
    let field = |i: usize| u8::try_from(num(at + i, 2)?).ok();
    let month = time::Month::try_from(field(0)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, field(2)?).ok()?;
    let at = date
        .with_hms(field(4)?, field(6)?, field(8)?)
        .ok()?
        .assume_utc();
    let secs = u64::try_from(at.unix_timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        tlv::push_length(&mut out, value.len());
        out.extend_from_slice(value);
        out
    }

    fn time(tag: u8, text: &str) -> Option<SystemTime> {
        let der = el(tag, text.as_bytes());
        parse_time(&tlv::read(&der).unwrap().0)
    }

    /// An unsigned CRL whose thisUpdate is `text` under `tag`, with one revoked entry.
    fn crl_with_time(tag: u8, text: &str) -> Vec<u8> {
        let rsa_sha256 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
        let alg = el(0x30, &el(0x06, &rsa_sha256));
        let entry = el(0x30, &[el(0x02, &[7]), el(0x17, b"250101000000Z")].concat());
        let tbs = [
            el(0x02, &[1]),
            alg.clone(),
            el(0x30, &[]),
            el(tag, text.as_bytes()),
            el(0x30, &entry),
        ];
        let tbs = el(0x30, &tbs.concat());
        el(0x30, &[tbs, alg, el(0x03, &[0, 1, 2])].concat())
    }

    #[test]
    fn times_parse() {
        let at = |s| Some(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(time(0x17, "250102030405Z"), at(1_735_787_045));
        assert_eq!(time(0x18, "20491231235959Z"), at(2_524_607_999));
        assert_eq!(
            time(0x17, "500101000000Z"),
            None,
            "1950 is before the epoch"
        );
        assert_eq!(time(0x17, "251302030405Z"), None, "month 13");
    }

    #[test]
    fn non_ascii_and_signed_times_are_refused_without_panicking() {
        // 12 and 14 bytes before the Z, with a two-byte character across a slice boundary.
        assert_eq!(time(0x17, "2é345678901Z"), None);
        assert_eq!(time(0x17, "250é4567890Z"), None);
        assert_eq!(time(0x18, "202é456789012Z"), None);
        assert_eq!(time(0x18, "20250102é0405Z"), None);
        // `str::parse` accepts a sign; a time must not.
        assert_eq!(time(0x17, "+50102030405Z"), None);
        assert_eq!(time(0x18, "+0250102030405Z"), None);
        assert_eq!(time(0x17, "25010203040+Z"), None);
        assert_eq!(time(0x17, "Z"), None);
        assert_eq!(time(0x17, ""), None);
    }

    #[test]
    fn crl_with_multibyte_this_update_is_malformed_not_a_panic() {
        assert_eq!(
            fuzz_parse(&crl_with_time(0x17, "250101000000Z")).ok(),
            Some(1)
        );
        for text in ["2é345678901Z", "202é456789012Z", "２５0101000000Z"] {
            for tag in [0x17, 0x18] {
                let der = crl_with_time(tag, text);
                let err = index(&der, &[], SystemTime::now(), Duration::ZERO).unwrap_err();
                assert_eq!(err.code, "crl_malformed", "{text}");
                assert!(fuzz_parse(&der).is_err());
            }
        }
    }

    #[test]
    fn truncated_and_corrupted_crls_are_refused_without_panicking() {
        let der = crl_with_time(0x17, "250101000000Z");
        for end in 0..der.len() {
            assert!(fuzz_parse(&der[..end]).is_err());
        }
        for i in 0..der.len() {
            for bit in 0..8 {
                let mut bad = der.clone();
                bad[i] ^= 1 << bit;
                let _ = fuzz_parse(&bad);
            }
        }
    }

    #[test]
    fn a_huge_skew_does_not_overflow() {
        let list = CrlIndex {
            issuer_sha256: String::new(),
            this_update: UNIX_EPOCH,
            next_update: Some(UNIX_EPOCH + Duration::from_secs(1)),
            entries: 0,
            bytes: 0,
            revoked: HashSet::new(),
            long_serials: HashSet::new(),
        };
        assert!(!list.expired(SystemTime::now(), Duration::MAX));
        assert!(list.expired(SystemTime::now(), Duration::ZERO));
    }
}
