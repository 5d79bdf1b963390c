//! Just enough of the wasm binary format to find and append custom sections.

use crate::BundleError;
use std::ops::Range;

/// The name of the custom section that holds a bundle.
pub const SECTION_NAME: &str = "vasi.bundle";

/// The preamble of a core module: `\0asm` and version 1.
pub(crate) const PREAMBLE: [u8; 8] = *b"\0asm\x01\0\0\0";

/// Where the bundle section lies in a module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    /// The whole section, id and size included.
    pub(crate) section: Range<usize>,
    /// Its payload, after the name.
    pub(crate) payload: Range<usize>,
}

/// Reads an unsigned LEB128 `u32` at `*pos`, advancing it.
fn leb_u32(bytes: &[u8], pos: &mut usize) -> Option<u32> {
    let mut value: u64 = 0;
    let mut shift = 0;
    loop {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return u32::try_from(value).ok();
        }
        shift += 7;
        if shift >= 35 {
            return None;
        }
    }
}

/// Appends `value` as unsigned LEB128.
#[cfg_attr(not(feature = "pack"), allow(dead_code, reason = "used by the writer"))]
pub(crate) fn write_leb_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Walks the sections of the core module `bytes` and returns where its
/// `vasi.bundle` section lies, if it has one. Section payloads are skipped,
/// never read, so this touches a few bytes per section.
///
/// # Errors
/// `bytes` is not a core module (a component, or not wasm at all), a section
/// runs past the end, or there are two bundle sections.
pub(crate) fn find_bundle(bytes: &[u8]) -> Result<Option<Found>, BundleError> {
    let not_wasm = |why: &str| BundleError::NotWasm(why.to_string());
    if bytes.len() < 8 || bytes[..4] != PREAMBLE[..4] {
        return Err(not_wasm("it does not start with \\0asm"));
    }
    if bytes[4..8] != PREAMBLE[4..8] {
        return Err(not_wasm(
            "it is a component or an unknown wasm version, not a core module",
        ));
    }
    let mut pos = 8;
    let mut found: Option<Found> = None;
    while pos < bytes.len() {
        let start = pos;
        let id = bytes[pos];
        pos += 1;
        let size =
            leb_u32(bytes, &mut pos).ok_or_else(|| not_wasm("a section size is cut short"))?;
        let end = pos
            .checked_add(size as usize)
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| not_wasm("a section runs past the end of the file (truncated?)"))?;
        if id == 0 {
            let mut p = pos;
            let name_len = leb_u32(bytes, &mut p)
                .filter(|&n| p + n as usize <= end)
                .ok_or_else(|| not_wasm("a custom section's name is cut short"))?;
            let name = &bytes[p..p + name_len as usize];
            if name == SECTION_NAME.as_bytes() {
                if found.is_some() {
                    return Err(BundleError::Corrupt(format!(
                        "two `{SECTION_NAME}` sections"
                    )));
                }
                found = Some(Found {
                    section: start..end,
                    payload: p + name_len as usize..end,
                });
            }
        }
        pos = end;
    }
    Ok(found)
}

/// The header of a custom section named [`SECTION_NAME`] whose payload is
/// `payload_len` bytes long, or `None` if the section would exceed the 4 GiB
/// that wasm allows.
#[cfg_attr(not(feature = "pack"), allow(dead_code, reason = "used by the writer"))]
pub(crate) fn section_header(payload_len: u64) -> Option<Vec<u8>> {
    let mut name = Vec::new();
    write_leb_u32(&mut name, SECTION_NAME.len() as u32);
    name.extend_from_slice(SECTION_NAME.as_bytes());
    let size = u32::try_from(payload_len.checked_add(name.len() as u64)?).ok()?;
    let mut out = vec![0u8];
    write_leb_u32(&mut out, size);
    out.extend_from_slice(&name);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb_round_trips_and_refuses_overlong() {
        for v in [0, 1, 127, 128, 300, 1 << 20, u32::MAX] {
            let mut out = Vec::new();
            write_leb_u32(&mut out, v);
            let mut pos = 0;
            assert_eq!(leb_u32(&out, &mut pos), Some(v));
            assert_eq!(pos, out.len());
        }
        let mut pos = 0;
        assert_eq!(leb_u32(&[0xff, 0xff, 0xff, 0xff, 0x7f], &mut pos), None);
        let mut pos = 0;
        assert_eq!(
            leb_u32(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], &mut pos),
            None
        );
        let mut pos = 0;
        assert_eq!(leb_u32(&[0x80], &mut pos), None);
    }

    #[test]
    fn finds_the_section_and_refuses_truncation() {
        let mut m = PREAMBLE.to_vec();
        let payload = b"hello";
        m.extend(section_header(payload.len() as u64).unwrap());
        m.extend_from_slice(payload);
        let found = find_bundle(&m).unwrap().unwrap();
        assert_eq!(&m[found.payload.clone()], payload);
        assert_eq!(found.section, 8..m.len());
        assert!(find_bundle(&m[..m.len() - 1]).is_err());
        assert_eq!(find_bundle(&PREAMBLE).unwrap(), None);
        let mut two = m.clone();
        two.extend_from_slice(&m[8..]);
        assert!(matches!(find_bundle(&two), Err(BundleError::Corrupt(_))));
        assert!(matches!(
            find_bundle(b"\0asm\x0d\0\x01\0"),
            Err(BundleError::NotWasm(_))
        ));
    }
}
