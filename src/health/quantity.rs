//! Kubernetes resource quantities: parsing, exact sums over Nodes, and the short
//! `cpu 8, memory 31Gi` summary people read in `kubectl get clusterregistrations`.
//!
//! Values are held as an `i128` count of nano-units, which is exact for everything a Node
//! reports (Kubernetes itself keeps nano precision) and has room for an exbibyte summed over
//! millions of nodes. Floating point would turn `32893752Ki` sums into lies.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

const NANO: i128 = 1_000_000_000;

/// How a quantity was written, so a sum is written back the way Kubernetes would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `Ki`, `Mi`, … (powers of 1024).
    BinarySi,
    /// `m`, ``, `k`, `M`, … (powers of 1000).
    DecimalSi,
    /// `1e3`, `5E-3`.
    DecimalExponent,
}

/// A parsed quantity: its value in nano-units and its format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Parsed {
    nanos: i128,
    format: Format,
}

/// Parses the Kubernetes quantity grammar (`<sign><digits>[.<digits>]<suffix>`), rounding
/// precision finer than a nano-unit up as Kubernetes does. `None` for anything malformed or
/// out of range.
fn parse(text: &str) -> Option<Parsed> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    let mut mantissa: i128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(digit - b'0'))?;
    }
    let (format, binary_power, decimal_exponent) = parse_suffix(suffix)?;
    let scaled = mantissa.checked_mul(1i128.checked_shl(binary_power)?)?;
    let fraction_len = i32::try_from(fraction.len()).ok()?;
    let exponent = decimal_exponent.checked_sub(fraction_len)?.checked_add(9)?;
    let magnitude = if exponent >= 0 {
        scaled.checked_mul(10i128.checked_pow(u32::try_from(exponent).ok()?)?)?
    } else {
        // Finer than a nano-unit: round up, so a sum never understates.
        match 10i128.checked_pow(exponent.unsigned_abs()) {
            Some(divisor) => scaled / divisor + i128::from(scaled % divisor != 0),
            None => i128::from(scaled > 0),
        }
    };
    Some(Parsed {
        nanos: if negative { -magnitude } else { magnitude },
        format,
    })
}

/// A quantity (`8`, `7500m`, `32Gi`, `1.5e3`) in thousandths of its unit, rounded up;
/// `None` for negative or malformed values. Placement compares requests and headroom in it.
pub fn quantity_millis(text: &str) -> Option<u128> {
    let parsed = parse(text.trim())?;
    let nanos = u128::try_from(parsed.nanos).ok()?;
    Some(nanos.div_ceil(1_000_000))
}

/// `(format, power of two, power of ten)` of a suffix.
fn parse_suffix(suffix: &str) -> Option<(Format, u32, i32)> {
    let binary = |power| Some((Format::BinarySi, power, 0));
    let decimal = |exponent| Some((Format::DecimalSi, 0, exponent));
    match suffix {
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "" => decimal(0),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((Format::DecimalExponent, 0, exponent.parse().ok()?))
        }
    }
}

/// Canonical text of `nanos` in `format`, as Kubernetes' `Quantity.String()` writes it: the
/// largest suffix that keeps the number whole (`16Gi`, `7500m`, `16k`).
fn format(nanos: i128, format: Format) -> String {
    let is_whole = nanos % NANO == 0;
    if format == Format::BinarySi && is_whole && nanos.unsigned_abs() >= 1024 * NANO as u128 {
        let units = nanos / NANO;
        const SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
        let power = (0..SUFFIXES.len())
            .rev()
            .find(|&p| units % (1i128 << (10 * p)) == 0)
            .unwrap_or(0);
        return format!("{}{}", units >> (10 * power), SUFFIXES[power]);
    }
    // Decimal: Kubernetes also falls back to it for binary values below 1Ki or not whole.
    if nanos == 0 {
        return "0".to_owned();
    }
    let mut exponent = -9i32;
    let mut mantissa = nanos;
    while exponent < 18 && mantissa % 1000 == 0 {
        mantissa /= 1000;
        exponent += 3;
    }
    let suffix = match (format, exponent) {
        (Format::DecimalExponent, 0) => String::new(),
        (Format::DecimalExponent, e) => format!("e{e}"),
        (_, e) => ["n", "u", "m", "", "k", "M", "G", "T", "P", "E"][(e / 3 + 3) as usize].to_owned(),
    };
    format!("{mantissa}{suffix}")
}

/// Sums node quantities (capacity or allocatable) — a pure helper the probe uses: input is a
/// list of per-node maps.
///
/// Each resource is summed exactly and written in the format of its first parseable value,
/// as Kubernetes' `Quantity.Add` does. A value that does not parse is skipped (a node with a
/// garbled figure then counts as having none of it, which understates rather than invents
/// capacity); a resource with no parseable value at all is left out.
pub fn sum_quantities(per_node: &[BTreeMap<String, Quantity>]) -> BTreeMap<String, Quantity> {
    let mut sums: BTreeMap<&str, Parsed> = BTreeMap::new();
    for node in per_node {
        for (resource, quantity) in node {
            let Some(value) = parse(&quantity.0) else {
                continue;
            };
            sums.entry(resource)
                .and_modify(|sum| sum.nanos = sum.nanos.saturating_add(value.nanos))
                .or_insert(value);
        }
    }
    sums.into_iter()
        .map(|(resource, sum)| (resource.to_owned(), Quantity(format(sum.nanos, sum.format))))
        .collect()
}

/// "cpu 8, memory 31Gi" from allocatable (memory rounded to Gi/Mi sensibly; parse Kubernetes
/// quantities like 16Gi, 32893752Ki, 8, 7500m).
///
/// For people scanning a table, so figures are rounded *down* (it is what is available):
/// CPU to at most two decimals of a core; memory to the largest binary unit it reaches,
/// whole from ten units up (`31Gi`) and to one decimal below (`7.5Gi`). `None` when neither
/// `cpu` nor `memory` is present and parseable.
pub fn capacity_summary(allocatable: &BTreeMap<String, Quantity>) -> Option<String> {
    let value = |name: &str| {
        allocatable
            .get(name)
            .and_then(|q| parse(&q.0))
            .map(|p| p.nanos)
            .filter(|&nanos| nanos >= 0)
    };
    let mut parts = Vec::new();
    if let Some(nanos) = value("cpu") {
        parts.push(format!("cpu {}", cores(nanos)));
    }
    if let Some(nanos) = value("memory") {
        parts.push(format!("memory {}", memory(nanos / NANO)));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Cores with up to two decimals, rounded down: `8`, `7.5`, `0.25`.
fn cores(nanos: i128) -> String {
    let hundredths = nanos / (NANO / 100);
    with_decimals(hundredths / 100, hundredths % 100, 2)
}

/// Bytes in the largest binary unit they reach, rounded down.
fn memory(bytes: i128) -> String {
    const UNITS: [(&str, u32); 5] = [("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)];
    for (suffix, power) in UNITS {
        let unit = 1i128 << power;
        if bytes >= unit {
            let tenths = bytes * 10 / unit;
            if tenths >= 100 {
                return format!("{}{suffix}", tenths / 10);
            }
            return format!("{}{suffix}", with_decimals(tenths / 10, tenths % 10, 1));
        }
    }
    bytes.to_string()
}

/// `whole.fraction` with `digits` fraction digits, trailing zeros (and a bare `.`) dropped.
fn with_decimals(whole: i128, fraction: i128, digits: usize) -> String {
    if fraction == 0 {
        return whole.to_string();
    }
    let fraction = format!("{fraction:0digits$}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity(text.to_owned())
    }

    fn node(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), q(v))).collect()
    }

    fn nanos(text: &str) -> i128 {
        parse(text).unwrap_or_else(|| panic!("{text} should parse")).nanos
    }

    #[test]
    fn parses_the_kubernetes_grammar() {
        assert_eq!(nanos("8"), 8 * NANO);
        assert_eq!(nanos("7500m"), 7_500_000_000);
        assert_eq!(nanos("16Gi"), 16 * (1 << 30) * NANO);
        assert_eq!(nanos("32893752Ki"), 32_893_752 * 1024 * NANO);
        assert_eq!(nanos("1.5"), 1_500_000_000);
        assert_eq!(nanos(".5"), 500_000_000);
        assert_eq!(nanos("5."), 5 * NANO);
        assert_eq!(nanos("1e3"), 1000 * NANO);
        assert_eq!(nanos("1E-3"), 1_000_000);
        assert_eq!(nanos("2k"), 2000 * NANO);
        assert_eq!(nanos("1E"), 10i128.pow(18) * NANO);
        assert_eq!(nanos("-1"), -NANO);
        assert_eq!(nanos("100n"), 100);
        // Finer than a nano-unit rounds up.
        assert_eq!(nanos("0.1n"), 1);
        for bad in [
            "", "-", ".", "1.2.3", "Gi", "1Gb", "1 Gi", "1e", "1e+", "1ex", "1.5.Ki", "abc",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert_eq!(parse("1e99999"), None);
        assert_eq!(parse("99999999999999999999999999999999999999999"), None);
    }

    #[test]
    fn formats_canonically() {
        for (text, canonical) in [
            ("8", "8"),
            ("8000m", "8"),
            ("7500m", "7500m"),
            ("16000", "16k"),
            ("16Gi", "16Gi"),
            ("1024Mi", "1Gi"),
            ("32893752Ki", "32893752Ki"),
            ("512", "512"),
            ("0", "0"),
            ("0Gi", "0"),
            ("1.5Gi", "1536Mi"),
            ("1e3", "1e3"),
            ("1500e-3", "1500e-3"),
            ("110", "110"),
        ] {
            let p = parse(text).unwrap();
            assert_eq!(format(p.nanos, p.format), canonical, "{text}");
        }
    }

    #[test]
    fn sums_per_resource_in_the_first_format() {
        let nodes = [
            node(&[
                ("cpu", "4"),
                ("memory", "16Gi"),
                ("pods", "110"),
                ("nvidia.com/gpu", "2"),
            ]),
            node(&[("cpu", "3500m"), ("memory", "32893752Ki"), ("pods", "110")]),
            node(&[("cpu", "garbage"), ("hugepages-2Mi", "0")]),
        ];
        let sum = sum_quantities(&nodes);
        assert_eq!(sum["cpu"], q("7500m"));
        assert_eq!(sum["memory"], q("49670968Ki"));
        assert_eq!(sum["pods"], q("220"));
        assert_eq!(sum["nvidia.com/gpu"], q("2"));
        assert_eq!(sum["hugepages-2Mi"], q("0"));
        assert!(sum_quantities(&[]).is_empty());
        assert!(sum_quantities(&[node(&[("cpu", "x")])]).is_empty());
    }

    #[test]
    fn summary_reads_like_the_example() {
        let alloc = node(&[("cpu", "8"), ("memory", "32893752Ki"), ("pods", "110")]);
        assert_eq!(capacity_summary(&alloc).as_deref(), Some("cpu 8, memory 31Gi"));
        let alloc = node(&[("cpu", "7500m"), ("memory", "16Gi")]);
        assert_eq!(capacity_summary(&alloc).as_deref(), Some("cpu 7.5, memory 16Gi"));
        let alloc = node(&[("cpu", "1999m"), ("memory", "7.56Gi")]);
        assert_eq!(
            capacity_summary(&alloc).as_deref(),
            Some("cpu 1.99, memory 7.5Gi")
        );
        let alloc = node(&[("cpu", "250m"), ("memory", "512Mi")]);
        assert_eq!(
            capacity_summary(&alloc).as_deref(),
            Some("cpu 0.25, memory 512Mi")
        );
        assert_eq!(
            capacity_summary(&node(&[("memory", "1536Gi")])).as_deref(),
            Some("memory 1.5Ti")
        );
        assert_eq!(
            capacity_summary(&node(&[("memory", "1000")])).as_deref(),
            Some("memory 1000")
        );
        assert_eq!(capacity_summary(&node(&[("cpu", "0")])).as_deref(), Some("cpu 0"));
        assert_eq!(capacity_summary(&node(&[("pods", "110")])), None);
        assert_eq!(capacity_summary(&node(&[("cpu", "-1"), ("memory", "x")])), None);
        assert_eq!(capacity_summary(&BTreeMap::new()), None);
    }
}
