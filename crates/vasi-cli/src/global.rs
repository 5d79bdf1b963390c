//! `--global NAME=VALUE`: a value for the guest's globals module
//! (`vasi_globals_v1`, docs/globals-abi.md), encoded as a `u64`.

/// Parses `NAME=VALUE` (see [`parse_value`]); a bad name or value is a
/// one-line usage error.
pub(crate) fn parse_global(spec: &str) -> Result<(String, u64), String> {
    let Some((name, value)) = spec.split_once('=') else {
        return Err("expected NAME=VALUE".into());
    };
    if name.is_empty() || name.len() > vasi_globals::abi::MAX_NAME_LEN {
        return Err(format!(
            "a global's name is 1 to {} bytes",
            vasi_globals::abi::MAX_NAME_LEN
        ));
    }
    Ok((name.to_string(), parse_value(value)?))
}

/// A global's value, by its look: `true`/`false` (1/0), an integer (`42`,
/// `0x2a`, and negative ones as their `i64` bits), a duration (an integer
/// with `ns`, `us`, `ms`, `s`, `m` or `h`, as nanoseconds), or a float (its
/// `f64` bits).
pub(crate) fn parse_value(v: &str) -> Result<u64, String> {
    match v {
        "true" => return Ok(1),
        "false" => return Ok(0),
        _ => {}
    }
    if let Ok(n) = v.parse::<u64>() {
        return Ok(n);
    }
    if let Ok(n) = v.parse::<i64>() {
        return Ok(n as u64);
    }
    if let Some(hex) = v.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).map_err(|_| invalid(v));
    }
    // Longest suffixes first: "ms" before "s", "ns" before "s".
    const UNITS: [(&str, u64); 6] = [
        ("ns", 1),
        ("us", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
    ];
    for (unit, nanos) in UNITS {
        if let Some(n) = v.strip_suffix(unit).and_then(|n| n.parse::<u64>().ok()) {
            return n
                .checked_mul(nanos)
                .ok_or_else(|| format!("duration {v:?} is too long (at most about 584 years)"));
        }
    }
    match v.parse::<f64>() {
        Ok(f) if v.bytes().any(|b| b.is_ascii_digit()) => Ok(f.to_bits()),
        _ => Err(invalid(v)),
    }
}

fn invalid(v: &str) -> String {
    format!(
        "invalid value {v:?}: use true/false, an integer (42, -3, 0x2a), a float (0.5) \
         or a duration (250ms, 5s, 1m)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse_value("true"), Ok(1));
        assert_eq!(parse_value("false"), Ok(0));
        assert_eq!(parse_value("42"), Ok(42));
        assert_eq!(parse_value("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_value("-1"), Ok(u64::MAX));
        assert_eq!(parse_value("-3"), Ok((-3i64) as u64));
        assert_eq!(parse_value("0x2a"), Ok(42));
        assert_eq!(parse_value("1.5"), Ok(1.5f64.to_bits()));
        assert_eq!(parse_value("-0.25"), Ok((-0.25f64).to_bits()));
        assert_eq!(parse_value("1e3"), Ok(1000f64.to_bits()));
        assert_eq!(parse_value("5ns"), Ok(5));
        assert_eq!(parse_value("10us"), Ok(10_000));
        assert_eq!(parse_value("250ms"), Ok(250_000_000));
        assert_eq!(parse_value("5s"), Ok(5_000_000_000));
        assert_eq!(parse_value("1m"), Ok(60_000_000_000));
        assert_eq!(parse_value("2h"), Ok(7_200_000_000_000));
        for bad in [
            "",
            "yes",
            "0xzz",
            "5 s",
            "-5s",
            "1.5s",
            "inf",
            "s",
            "99999999h",
        ] {
            assert!(parse_value(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn specs() {
        assert_eq!(parse_global("A=1"), Ok(("A".into(), 1)));
        assert_eq!(parse_global("A=B=1").map(|_| ()), Err(invalid("B=1")));
        assert!(parse_global("A").is_err());
        assert!(parse_global("=1").is_err());
        assert!(parse_global(&format!("{}=1", "n".repeat(256))).is_err());
    }
}
