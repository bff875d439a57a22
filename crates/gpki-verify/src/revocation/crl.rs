//! CRLs (RFC 5280 §5): parsed, signature-checked and indexed by serial once, off the login
//! path; looked up in O(1) during a login. A multi-megabyte CRL (MOICA G2: ~20 MB, ~412k
//! entries) is walked with a zero-copy reader into a hash set of fixed-size keys, so an
//! index costs ~40 bytes per entry and no per-entry allocation.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
        self.next_update.is_some_and(|next| next + skew < now)
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
    let issuer = cas
        .iter()
        .filter(|ca| ca.subject_der == fields.issuer)
        .find(|ca| algorithm::verify(&alg, None, &ca.key, tbs, signature, false).is_ok())
        .ok_or_else(|| failure("crl_bad_signature", "no configured CA signed this CRL"))?;
    if fields.this_update > now + skew {
        return Err(failure("crl_not_yet_valid", "thisUpdate is in the future"));
    }
    if fields.next_update.is_some_and(|next| next + skew < now) {
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
    let text = std::str::from_utf8(t.value).ok()?.strip_suffix('Z')?;
    let (year, rest) = match t.tag {
        0x17 if text.len() == 12 => {
            let yy: i32 = text[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        0x18 if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let num = |i: usize| rest.get(i..i + 2)?.parse::<u8>().ok();
    let month = time::Month::try_from(num(0)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, num(2)?).ok()?;
    let at = date.with_hms(num(4)?, num(6)?, num(8)?).ok()?.assume_utc();
    let secs = u64::try_from(at.unix_timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Known CRLs by URL, with the last failure of each.
#[derive(Default)]
pub struct CrlCache {
    pub(crate) lists: HashMap<String, std::sync::Arc<CrlIndex>>,
    pub(crate) last_failure: HashMap<String, SourceFailure>,
}
