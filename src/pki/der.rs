//! Just enough DER to read back the certificates this module writes (and CAs
//! made by other tools), and to rewrite a certificate's names before signing.
//!
//! rcgen is built without its `x509-parser` feature, so it cannot load an
//! existing CA, and its `DistinguishedName` holds one value per attribute type
//! (rcgen#81), so it cannot write `O=team-a, O=team-b`. Both gaps are closed
//! here: [`CertInfo::parse`] reads what issuing needs from a certificate, and
//! [`rewrite_names`] replaces the issuer and/or subject of a certificate rcgen
//! produced and signs the result again with the issuer's key.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, Utc};

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
const BIT_STRING: u8 = 0x03;
const UTF8_STRING: u8 = 0x0c;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const CONTEXT_0_CONSTRUCTED: u8 = 0xa0;
const CONTEXT_3_CONSTRUCTED: u8 = 0xa3;
const SAN_DNS: u8 = 0x82;
const SAN_IP: u8 = 0x87;

const OID_SUBJECT_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 14];
const OID_SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];
const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
/// id-at-commonName.
pub(crate) const OID_COMMON_NAME: &[u64] = &[2, 5, 4, 3];
/// id-at-organizationName.
pub(crate) const OID_ORGANIZATION: &[u64] = &[2, 5, 4, 10];

/// Why a certificate could not be read or rewritten.
#[derive(Debug, thiserror::Error)]
#[error("malformed certificate: {0}")]
pub struct DerError(&'static str);

type Result<T> = std::result::Result<T, DerError>;

/// One tag-length-value element.
#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    contents: &'a [u8],
    /// The whole element, header included.
    raw: &'a [u8],
}

/// Reads one element from the front of `input`; returns it and the rest.
fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first().ok_or(DerError("unexpected end"))?;
    if tag & 0x1f == 0x1f {
        return Err(DerError("multi-byte tags are not supported"));
    }
    let (&first, rest) = rest.split_first().ok_or(DerError("missing length"))?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(DerError("bad length"));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(DerError("element longer than its container"));
    }
    let header = input.len() - rest.len();
    let element = Tlv {
        tag,
        contents: &rest[..len],
        raw: &input[..header + len],
    };
    Ok((element, &rest[len..]))
}

/// Reads one element that must carry `tag`.
fn expect<'a>(input: &'a [u8], tag: u8, what: &'static str) -> Result<(Tlv<'a>, &'a [u8])> {
    let (element, rest) = read(input)?;
    if element.tag != tag {
        return Err(DerError(what));
    }
    Ok((element, rest))
}

/// All elements of a constructed value.
fn children(mut contents: &[u8]) -> Result<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !contents.is_empty() {
        let (element, rest) = read(contents)?;
        out.push(element);
        contents = rest;
    }
    Ok(out)
}

/// Encodes one element.
fn write(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

fn decode_oid(contents: &[u8]) -> Result<Vec<u64>> {
    let mut arcs = Vec::new();
    let mut value: u64 = 0;
    for (i, b) in contents.iter().enumerate() {
        if value > (u64::MAX >> 7) {
            return Err(DerError("object identifier arc too large"));
        }
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        } else if i + 1 == contents.len() {
            return Err(DerError("truncated object identifier"));
        }
    }
    if arcs.is_empty() {
        return Err(DerError("empty object identifier"));
    }
    Ok(arcs)
}

fn encode_oid(arcs: &[u64]) -> Vec<u8> {
    let mut contents = Vec::new();
    let mut push = |mut value: u64| {
        let mut groups = vec![(value & 0x7f) as u8];
        value >>= 7;
        while value > 0 {
            groups.push(0x80 | (value & 0x7f) as u8);
            value >>= 7;
        }
        contents.extend(groups.iter().rev());
    };
    push(arcs[0] * 40 + arcs.get(1).copied().unwrap_or(0));
    for arc in arcs.iter().skip(2) {
        push(*arc);
    }
    write(OID, &contents)
}

/// Encodes a Name with one single-valued RDN per entry, values as UTF8String.
pub(crate) fn encode_name(entries: &[(&[u64], &str)]) -> Vec<u8> {
    let mut rdns = Vec::new();
    for (oid, value) in entries {
        let mut atv = encode_oid(oid);
        atv.extend(write(UTF8_STRING, value.as_bytes()));
        rdns.extend(write(SET, &write(SEQUENCE, &atv)));
    }
    write(SEQUENCE, &rdns)
}

fn parse_time(element: Tlv<'_>) -> Result<DateTime<Utc>> {
    let text = std::str::from_utf8(element.contents)
        .ok()
        .filter(|t| t.is_ascii())
        .ok_or(DerError("time is not ASCII"))?;
    let (year, rest) = match element.tag {
        UTC_TIME if text.len() == 13 => {
            let yy: i32 = text[..2].parse().map_err(|_| DerError("bad UTCTime"))?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        GENERALIZED_TIME if text.len() == 15 => (
            text[..4].parse().map_err(|_| DerError("bad GeneralizedTime"))?,
            &text[4..],
        ),
        _ => return Err(DerError("unsupported time encoding")),
    };
    let field = |i: usize| -> Result<u32> { rest[i..i + 2].parse().map_err(|_| DerError("bad time")) };
    if !rest.ends_with('Z') {
        return Err(DerError("time is not in UTC"));
    }
    NaiveDate::from_ymd_opt(year, field(0)?, field(2)?)
        .and_then(|d| d.and_hms_opt(field(4).ok()?, field(6).ok()?, field(8).ok()?))
        .map(|t| t.and_utc())
        .ok_or(DerError("time out of range"))
}

/// What issuing and rotation need to know about an existing certificate.
#[derive(Debug, Clone)]
pub(crate) struct CertInfo {
    /// The subject Name exactly as encoded (it becomes the issuer of what this
    /// certificate signs, and names must match byte for byte).
    pub subject: Vec<u8>,
    /// The (attribute type, value) pairs of the subject, values that are not
    /// strings left out.
    pub subject_attributes: Vec<(Vec<u64>, String)>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub is_ca: bool,
    pub subject_key_id: Option<Vec<u8>>,
    pub dns_names: Vec<String>,
    pub ips: Vec<IpAddr>,
}

impl CertInfo {
    pub(crate) fn parse(der: &[u8]) -> Result<Self> {
        let (cert, _) = expect(der, SEQUENCE, "certificate is not a SEQUENCE")?;
        let (tbs, _) = expect(cert.contents, SEQUENCE, "tbsCertificate is not a SEQUENCE")?;
        let mut fields = children(tbs.contents)?.into_iter().peekable();
        if fields.peek().is_some_and(|f| f.tag == CONTEXT_0_CONSTRUCTED) {
            fields.next(); // version
        }
        let mut next = |what| fields.next().ok_or(DerError(what));
        let _serial = next("missing serial number")?;
        let _algorithm = next("missing signature algorithm")?;
        let _issuer = next("missing issuer")?;
        let validity = next("missing validity")?;
        let subject = next("missing subject")?;
        let _spki = next("missing public key")?;
        let extensions = fields.find(|f| f.tag == CONTEXT_3_CONSTRUCTED);

        let times = children(validity.contents)?;
        let [not_before, not_after] = times[..] else {
            return Err(DerError("validity is not two times"));
        };
        let mut info = CertInfo {
            subject: subject.raw.to_vec(),
            subject_attributes: name_attributes(subject)?,
            not_before: parse_time(not_before)?,
            not_after: parse_time(not_after)?,
            is_ca: false,
            subject_key_id: None,
            dns_names: Vec::new(),
            ips: Vec::new(),
        };
        if let Some(extensions) = extensions {
            let (list, _) = expect(extensions.contents, SEQUENCE, "extensions are not a SEQUENCE")?;
            for extension in children(list.contents)? {
                info.read_extension(extension)?;
            }
        }
        Ok(info)
    }

    fn read_extension(&mut self, extension: Tlv<'_>) -> Result<()> {
        let parts = children(extension.contents)?;
        let (Some(oid), Some(value)) = (parts.first(), parts.last()) else {
            return Err(DerError("short extension"));
        };
        if oid.tag != OID || value.tag != OCTET_STRING {
            return Err(DerError("bad extension"));
        }
        let oid = decode_oid(oid.contents)?;
        if oid == OID_SUBJECT_KEY_IDENTIFIER {
            let (id, _) = expect(value.contents, OCTET_STRING, "bad subject key identifier")?;
            self.subject_key_id = Some(id.contents.to_vec());
        } else if oid == OID_BASIC_CONSTRAINTS {
            let (constraints, _) = expect(value.contents, SEQUENCE, "bad basic constraints")?;
            self.is_ca = children(constraints.contents)?
                .first()
                .is_some_and(|c| c.tag == BOOLEAN && c.contents.first().is_some_and(|b| *b != 0));
        } else if oid == OID_SUBJECT_ALT_NAME {
            let (names, _) = expect(value.contents, SEQUENCE, "bad subject alternative names")?;
            for name in children(names.contents)? {
                match name.tag {
                    SAN_DNS => self.dns_names.push(
                        String::from_utf8(name.contents.to_vec()).map_err(|_| DerError("bad DNS name"))?,
                    ),
                    SAN_IP => match name.contents.len() {
                        4 => self.ips.push(IpAddr::from(
                            <[u8; 4]>::try_from(name.contents).unwrap_or_default(),
                        )),
                        16 => self.ips.push(IpAddr::from(
                            <[u8; 16]>::try_from(name.contents).unwrap_or_default(),
                        )),
                        _ => return Err(DerError("bad IP address")),
                    },
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// The values of one subject attribute, in order.
    pub(crate) fn subject_values(&self, oid: &[u64]) -> Vec<&str> {
        self.subject_attributes
            .iter()
            .filter(|(o, _)| o == oid)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

fn name_attributes(name: Tlv<'_>) -> Result<Vec<(Vec<u64>, String)>> {
    if name.tag != SEQUENCE {
        return Err(DerError("name is not a SEQUENCE"));
    }
    let mut out = Vec::new();
    for rdn in children(name.contents)? {
        if rdn.tag != SET {
            return Err(DerError("relative distinguished name is not a SET"));
        }
        for atv in children(rdn.contents)? {
            let parts = children(atv.contents)?;
            let [oid, value] = parts[..] else {
                return Err(DerError("bad attribute"));
            };
            if oid.tag != OID {
                return Err(DerError("bad attribute type"));
            }
            // UTF8String, PrintableString, IA5String and T61String read as text;
            // anything else (BMPString, UniversalString) is only kept verbatim.
            if let (0x0c | 0x13 | 0x14 | 0x16, Ok(text)) = (value.tag, std::str::from_utf8(value.contents)) {
                out.push((decode_oid(oid.contents)?, text.to_owned()));
            }
        }
    }
    Ok(out)
}

/// Replaces the issuer and/or the subject Name of `cert` and signs the new
/// tbsCertificate with `signer`, which must be the key that signed `cert`
/// (its signature algorithm is kept).
pub(crate) fn rewrite_names(
    cert: &[u8],
    issuer: Option<&[u8]>,
    subject: Option<&[u8]>,
    signer: &impl rcgen::SigningKey,
) -> std::result::Result<Vec<u8>, RewriteError> {
    let (outer, _) = expect(cert, SEQUENCE, "certificate is not a SEQUENCE")?;
    let parts = children(outer.contents)?;
    let [tbs, algorithm, _signature] = parts[..] else {
        return Err(DerError("certificate is not three parts").into());
    };
    let fields = children(tbs.contents)?;
    // [version], serial, signature algorithm, issuer, validity, subject, key, ...
    let offset = usize::from(fields.first().is_some_and(|f| f.tag == CONTEXT_0_CONSTRUCTED));
    if fields.len() < offset + 6 {
        return Err(DerError("short tbsCertificate").into());
    }
    let mut new_tbs = Vec::with_capacity(tbs.contents.len() + 64);
    for (i, field) in fields.iter().enumerate() {
        let replacement = match i.checked_sub(offset) {
            Some(2) => issuer,
            Some(4) => subject,
            _ => None,
        };
        new_tbs.extend_from_slice(replacement.unwrap_or(field.raw));
    }
    let new_tbs = write(SEQUENCE, &new_tbs);
    let signature = signer.sign(&new_tbs)?;
    let mut bits = vec![0u8];
    bits.extend(signature);
    let mut body = new_tbs;
    body.extend_from_slice(algorithm.raw);
    body.extend(write(BIT_STRING, &bits));
    Ok(write(SEQUENCE, &body))
}

/// [`rewrite_names`] failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RewriteError {
    #[error(transparent)]
    Der(#[from] DerError),
    #[error("signing: {0}")]
    Sign(#[from] rcgen::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_round_trips() {
        for oid in [
            &[2u64, 5, 4, 10][..],
            &[1, 2, 840, 113549, 1, 1, 11],
            &[2, 5, 29, 17],
            &[2, 999, 3],
        ] {
            let encoded = encode_oid(oid);
            let (element, rest) = read(&encoded).unwrap();
            assert!(rest.is_empty());
            assert_eq!(decode_oid(element.contents).unwrap(), oid);
        }
    }

    #[test]
    fn long_lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let contents = vec![7u8; len];
            let encoded = write(OCTET_STRING, &contents);
            let (element, rest) = read(&encoded).unwrap();
            assert!(rest.is_empty());
            assert_eq!(element.contents.len(), len);
        }
    }

    #[test]
    fn names_keep_repeated_attributes() {
        let name = encode_name(&[
            (OID_ORGANIZATION, "a"),
            (OID_ORGANIZATION, "b"),
            (OID_COMMON_NAME, "u"),
        ]);
        let (element, _) = read(&name).unwrap();
        let attributes = name_attributes(element).unwrap();
        assert_eq!(attributes.len(), 3);
        assert_eq!(attributes[1], (OID_ORGANIZATION.to_vec(), "b".to_owned()));
    }

    #[test]
    fn times_parse() {
        let utc = write(UTC_TIME, b"491231235959Z");
        let (element, _) = read(&utc).unwrap();
        assert_eq!(
            parse_time(element).unwrap().to_rfc3339(),
            "2049-12-31T23:59:59+00:00"
        );
        let generalized = write(GENERALIZED_TIME, b"20500101000000Z");
        let (element, _) = read(&generalized).unwrap();
        assert_eq!(
            parse_time(element).unwrap().to_rfc3339(),
            "2050-01-01T00:00:00+00:00"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for input in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x05, 1],
            &[0x1f, 0x01, 0x00],
        ] {
            assert!(CertInfo::parse(input).is_err());
        }
    }
}
