//! A minimal tag-length-value reader, and BER to DER normalisation.
//!
//! The typed `der` decoders re-sort SET OF elements and accept DER only. Signatures must be
//! checked over the exact bytes that were signed, and card middleware and `openssl cms -sign
//! -stream` emit BER (indefinite lengths, chunked OCTET STRINGs), so this module finds raw
//! byte spans and rewrites BER into DER before typed decoding.

/// Deepest nesting accepted; real CMS needs about 12. Bounds recursion on hostile input.
const MAX_DEPTH: usize = 48;

/// One DER element: its tag byte, its value and its whole encoding.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads one definite-length element from the front of `input`; returns it and the rest.
pub fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, after_tag) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag numbers do not occur in the structures we read
    }
    let (len, len_bytes) = match read_length(after_tag)? {
        (Some(len), n) => (len, n),
        (None, _) => return None,
    };
    let header = 1 + len_bytes;
    let end = header.checked_add(len)?;
    if end > input.len() {
        return None;
    }
    let tlv = Tlv {
        tag,
        value: &input[header..end],
        raw: &input[..end],
    };
    Some((tlv, &input[end..]))
}

/// Reads the elements inside a constructed value.
pub fn children(value: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let (tlv, next) = read(rest)?;
        out.push(tlv);
        rest = next;
    }
    Some(out)
}

/// Splits a `SEQUENCE { tbs, algorithm, signature BIT STRING }` (certificate, CRL, basic OCSP
/// response) into the raw signed bytes, the raw algorithm identifier and the signature bits.
pub fn split_signed(input: &[u8]) -> Option<(&[u8], Tlv<'_>, &[u8])> {
    let (outer, _) = read(input)?;
    let parts = children(outer.value)?;
    if outer.tag != 0x30 || parts.len() < 3 || parts[2].tag != 0x03 {
        return None;
    }
    let (&unused, bits) = parts[2].value.split_first()?;
    if unused != 0 {
        return None;
    }
    Some((parts[0].raw, parts[1], bits))
}

/// Returns `(length, bytes used)`; `None` as length means indefinite.
fn read_length(input: &[u8]) -> Option<(Option<usize>, usize)> {
    let (&first, rest) = input.split_first()?;
    match first {
        0x80 => Some((None, 1)),
        n if n < 0x80 => Some((Some(n as usize), 1)),
        n => {
            let count = (n & 0x7f) as usize;
            if count > 4 || rest.len() < count {
                return None;
            }
            let len = rest[..count]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | b as usize);
            Some((Some(len), 1 + count))
        }
    }
}

/// Rewrites one BER element (and nothing after it) as DER: definite lengths everywhere and
/// constructed OCTET STRINGs and character strings joined into primitive ones. Set order is
/// kept as it is: signed attributes must stay byte-identical to what was signed.
pub fn ber_to_der(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let used = convert(input, &mut out, 0)?;
    if used != input.len() && !input[used..].iter().all(|&b| b == 0) {
        return None;
    }
    Some(out)
}

/// Converts one element at the front of `input` into `out`; returns the bytes consumed.
fn convert(input: &[u8], out: &mut Vec<u8>, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    let (&tag, after_tag) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (len, len_bytes) = read_length(after_tag)?;
    let header = 1 + len_bytes;
    let constructed = tag & 0x20 != 0;
    if !constructed {
        let len = len?; // primitive elements cannot be indefinite
        let end = header.checked_add(len)?;
        let value = input.get(header..end)?;
        push_element(out, tag, value);
        return Some(end);
    }
    let mut body = Vec::new();
    let (inner_used, total) = match len {
        Some(len) => {
            let end = header.checked_add(len)?;
            let value = input.get(header..end)?;
            (
                convert_all(value, &mut body, depth, is_joinable_string(tag))?,
                end,
            )
        }
        None => {
            let used = convert_until_eoc(&input[header..], &mut body, depth, tag)?;
            (used, header + used + 2)
        }
    };
    let _ = inner_used;
    if is_joinable_string(tag) {
        push_element(out, tag & !0x20, &body);
    } else {
        push_element(out, tag, &body);
    }
    Some(total)
}

/// Universal string types that BER may split into constructed chunks.
fn is_joinable_string(tag: u8) -> bool {
    let universal = tag & 0xc0 == 0;
    let number = tag & 0x1f;
    universal && tag & 0x20 != 0 && matches!(number, 4 | 12 | 19 | 20 | 22 | 26 | 30)
}

/// Converts every element of `value`; chunks of a constructed string are joined raw.
fn convert_all(value: &[u8], body: &mut Vec<u8>, depth: usize, join: bool) -> Option<usize> {
    let mut pos = 0;
    while pos < value.len() {
        pos += convert_child(&value[pos..], body, depth, join)?;
    }
    Some(pos)
}

fn convert_until_eoc(value: &[u8], body: &mut Vec<u8>, depth: usize, tag: u8) -> Option<usize> {
    let join = is_joinable_string(tag);
    let mut pos = 0;
    loop {
        let rest = value.get(pos..)?;
        if rest.len() >= 2 && rest[0] == 0 && rest[1] == 0 {
            return Some(pos);
        }
        pos += convert_child(rest, body, depth, join)?;
    }
}

fn convert_child(input: &[u8], body: &mut Vec<u8>, depth: usize, join: bool) -> Option<usize> {
    if !join {
        return convert(input, body, depth + 1);
    }
    // A chunk of a constructed string: keep only its contents.
    let mut chunk = Vec::new();
    let used = convert(input, &mut chunk, depth + 1)?;
    let (tlv, _) = read(&chunk)?;
    body.extend_from_slice(tlv.value);
    Some(used)
}

fn push_element(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    push_length(out, value.len());
    out.extend_from_slice(value);
}

/// Appends a DER length.
pub fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indefinite_sequence_with_chunked_octet_string_becomes_der() {
        // SEQUENCE (indefinite) { OCTET STRING (constructed, indefinite) { "ab", "c" } }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0x00, 0x00, 0x00,
            0x00,
        ];
        let der = ber_to_der(&ber).unwrap();
        assert_eq!(der, [0x30, 0x05, 0x04, 0x03, b'a', b'b', b'c']);
    }

    #[test]
    fn der_is_unchanged() {
        // an inner length running past its parent must be refused, not panic
        let bad = [0x30, 0x05, 0x02, 0x01, 0x05, 0x31, 0x04, 0x05];
        assert!(ber_to_der(&bad).is_none());
        let good = [0x30, 0x03, 0x02, 0x01, 0x05];
        assert_eq!(ber_to_der(&good).unwrap(), good);
    }

    #[test]
    fn garbage_and_deep_nesting_are_refused() {
        assert!(ber_to_der(&[]).is_none());
        assert!(ber_to_der(&[0x30]).is_none());
        assert!(ber_to_der(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 200).flatten().collect();
        assert!(ber_to_der(&deep).is_none());
    }
}
