//! How typed values are stored in a global's `u64`.

use std::time::Duration;

/// A type whose values are stored in a global's `u64`.
///
/// The encodings are part of the ABI (`docs/globals-abi.md`), so that a host
/// and a guest written apart agree on them:
///
/// | type | stored as | read back |
/// |---|---|---|
/// | `u64` | itself | itself |
/// | `i64` | its two's complement bits | the same bits |
/// | `bool` | `1` for true, `0` for false | any value other than `0` is true |
/// | `f64` | its IEEE 754 bits ([`f64::to_bits`]) | [`f64::from_bits`] |
/// | [`Duration`] | whole nanoseconds, saturating at `u64::MAX` (about 584 years) | nanoseconds |
///
/// ```
/// use std::time::Duration;
/// use vasi_globals::GlobalValue;
/// assert_eq!((-1i64).to_bits(), u64::MAX);
/// assert_eq!(Duration::from_millis(250).to_bits(), 250_000_000);
/// assert!(bool::from_bits(2));
/// assert_eq!(<f64 as GlobalValue>::from_bits(0.5f64.to_bits()), 0.5);
/// ```
pub trait GlobalValue: Sized {
    /// The `u64` that stores `self`.
    fn to_bits(self) -> u64;
    /// The value that `bits` stores.
    fn from_bits(bits: u64) -> Self;
}

impl GlobalValue for u64 {
    fn to_bits(self) -> u64 {
        self
    }
    fn from_bits(bits: u64) -> Self {
        bits
    }
}

impl GlobalValue for i64 {
    fn to_bits(self) -> u64 {
        self as u64
    }
    fn from_bits(bits: u64) -> Self {
        bits as i64
    }
}

impl GlobalValue for bool {
    fn to_bits(self) -> u64 {
        u64::from(self)
    }
    fn from_bits(bits: u64) -> Self {
        bits != 0
    }
}

impl GlobalValue for f64 {
    fn to_bits(self) -> u64 {
        f64::to_bits(self)
    }
    fn from_bits(bits: u64) -> Self {
        f64::from_bits(bits)
    }
}

impl GlobalValue for Duration {
    fn to_bits(self) -> u64 {
        u64::try_from(self.as_nanos()).unwrap_or(u64::MAX)
    }
    fn from_bits(bits: u64) -> Self {
        Duration::from_nanos(bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: GlobalValue + Copy + PartialEq + std::fmt::Debug>(v: T) {
        assert_eq!(T::from_bits(v.to_bits()), v);
    }

    #[test]
    fn values_round_trip() {
        round_trip(0u64);
        round_trip(u64::MAX);
        round_trip(i64::MIN);
        round_trip(-42i64);
        round_trip(true);
        round_trip(false);
        round_trip(-0.25f64);
        round_trip(f64::INFINITY);
        round_trip(Duration::from_nanos(1));
        round_trip(Duration::from_secs(3600));
    }

    #[test]
    fn encodings_are_the_documented_ones() {
        assert_eq!(true.to_bits(), 1);
        assert_eq!(false.to_bits(), 0);
        assert!(!bool::from_bits(0));
        assert!(bool::from_bits(u64::MAX));
        assert_eq!((-2i64).to_bits(), 0xffff_ffff_ffff_fffe);
        assert_eq!(GlobalValue::to_bits(1.0f64), 0x3ff0_0000_0000_0000);
        assert_eq!(Duration::from_secs(1).to_bits(), 1_000_000_000);
        assert_eq!(Duration::MAX.to_bits(), u64::MAX, "saturates");
    }
}
