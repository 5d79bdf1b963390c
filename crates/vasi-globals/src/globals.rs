//! The host's handle on a set of globals.

use crate::abi::MAX_NAME_LEN;
use crate::GlobalValue;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A set of named `u64` globals, shared by the host and any number of guests.
///
/// Cloning is cheap (an `Arc`), and every clone is the same set: give one clone
/// to each store (or many stores) and keep one to change the values from any
/// thread. A guest sees a change at its next read, without a restart.
///
/// Every change ([`set`](Self::set) to a different value, [`del`](Self::del)
/// of a present name) increments the [generation](Self::generation), which a
/// guest can read with one cheap call to notice that something changed.
///
/// Names are UTF-8, 1 to [`MAX_NAME_LEN`] bytes long.
///
/// ```
/// use std::time::Duration;
/// use vasi_globals::Globals;
///
/// let globals = Globals::new();
/// let g0 = globals.generation();
/// globals.set("TIMEOUT", Duration::from_secs(5))?;
/// globals.set("VERBOSE", true)?;
/// assert_eq!(globals.get_as::<Duration>("TIMEOUT"), Some(Duration::from_secs(5)));
/// assert_eq!(globals.get("VERBOSE"), Some(1));
/// assert_eq!(globals.generation(), g0 + 2);
/// assert_eq!(globals.del("VERBOSE"), Some(1));
/// assert_eq!(globals.get("VERBOSE"), None);
/// assert!(globals.set("", 1u64).is_err());
/// # Ok::<(), vasi_globals::NameError>(())
/// ```
#[derive(Clone, Default)]
pub struct Globals {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Keys are valid names (UTF-8), stored as bytes so that a guest's name
    /// is looked up straight from its memory, UTF-8-checked only on a miss.
    values: RwLock<HashMap<Box<[u8]>, u64>>,
    /// Incremented after every change, under the write lock.
    generation: AtomicU64,
}

/// A global's name is empty, longer than [`MAX_NAME_LEN`] bytes, or (from a
/// guest) not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameError {
    len: usize,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len == 0 {
            f.write_str("a global's name must not be empty")
        } else {
            write!(
                f,
                "a global's name is at most {MAX_NAME_LEN} bytes of UTF-8, got {} bytes",
                self.len
            )
        }
    }
}

impl std::error::Error for NameError {}

/// Checks a name's length (its UTF-8 is checked by the caller or by `&str`).
#[inline]
pub(crate) fn valid_len(len: usize) -> bool {
    (1..=MAX_NAME_LEN).contains(&len)
}

impl Globals {
    /// An empty set, at generation 0.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<Box<[u8]>, u64>> {
        // No code panics while holding the lock, and the map is never left
        // half-updated, so a poisoned lock still holds a good map.
        self.inner
            .values
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<Box<[u8]>, u64>> {
        self.inner
            .values
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets `name` to `value` (see [`GlobalValue`] for the encodings); returns
    /// the previous value. Setting a different value (or a new name) increments
    /// the generation; setting the same value again does not.
    ///
    /// # Errors
    /// The name is empty or longer than [`MAX_NAME_LEN`] bytes.
    pub fn set(&self, name: &str, value: impl GlobalValue) -> Result<Option<u64>, NameError> {
        if !valid_len(name.len()) {
            return Err(NameError { len: name.len() });
        }
        let bits = value.to_bits();
        let mut values = self.write();
        let old = match values.get_mut(name.as_bytes()) {
            Some(v) => Some(std::mem::replace(v, bits)),
            None => values.insert(name.as_bytes().into(), bits),
        };
        if old != Some(bits) {
            // After the map changed and before the lock is released: a guest
            // that sees the new generation then reads the new value.
            self.inner.generation.fetch_add(1, Ordering::Release);
        }
        Ok(old)
    }

    /// Deletes `name`; returns its value if it was set (and then increments
    /// the generation). A guest reading it gets its default from then on.
    pub fn del(&self, name: &str) -> Option<u64> {
        let mut values = self.write();
        let old = values.remove(name.as_bytes());
        if old.is_some() {
            self.inner.generation.fetch_add(1, Ordering::Release);
        }
        old
    }

    /// The raw value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.get_bytes(name.as_bytes())
    }

    /// The value of `name` decoded as `T`, if set.
    pub fn get_as<T: GlobalValue>(&self, name: &str) -> Option<T> {
        self.get(name).map(T::from_bits)
    }

    /// The raw value of the name spelled by `name`, if set: no allocation, and
    /// no UTF-8 check (only valid names are ever set).
    #[inline]
    pub(crate) fn get_bytes(&self, name: &[u8]) -> Option<u64> {
        self.read().get(name).copied()
    }

    /// The number of changes made so far. Starts at 0; only ever grows.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// How many globals are set.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no global is set.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Every global and its raw value, sorted by name: a snapshot, which later
    /// changes do not affect.
    ///
    /// ```
    /// let globals = vasi_globals::Globals::new();
    /// globals.set("b", 2u64)?;
    /// globals.set("a", 1u64)?;
    /// let all: Vec<(String, u64)> = globals.iter().collect();
    /// assert_eq!(all, [("a".to_string(), 1), ("b".to_string(), 2)]);
    /// # Ok::<(), vasi_globals::NameError>(())
    /// ```
    pub fn iter(&self) -> std::vec::IntoIter<(String, u64)> {
        let mut all: Vec<(String, u64)> = self
            .read()
            .iter()
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), *v))
            .collect();
        all.sort_unstable();
        all.into_iter()
    }
}

impl fmt::Debug for Globals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Globals")
            .field("generation", &self.generation())
            .field("values", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn clones_share_values_and_generation() {
        let a = Globals::new();
        let b = a.clone();
        assert_eq!(a.set("x", 1u64), Ok(None));
        assert_eq!(b.get("x"), Some(1));
        assert_eq!(b.generation(), 1);
        assert_eq!(b.set("x", 2u64), Ok(Some(1)));
        assert_eq!(a.get("x"), Some(2));
        assert_eq!(a.generation(), 2);
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn generation_counts_changes_only() {
        let g = Globals::new();
        g.set("x", 5u64).unwrap();
        g.set("x", 5u64).unwrap();
        assert_eq!(g.generation(), 1, "setting the same value is no change");
        assert_eq!(g.del("missing"), None);
        assert_eq!(g.generation(), 1, "deleting nothing is no change");
        assert_eq!(g.del("x"), Some(5));
        assert_eq!(g.generation(), 2);
        assert!(g.is_empty());
    }

    #[test]
    fn names_are_checked() {
        let g = Globals::new();
        let longest = "n".repeat(MAX_NAME_LEN);
        assert_eq!(g.set(&longest, 1u64), Ok(None));
        let too_long = "n".repeat(MAX_NAME_LEN + 1);
        let err = g.set(&too_long, 1u64).unwrap_err();
        assert!(err.to_string().contains("256 bytes"), "{err}");
        let err = g.set("", 1u64).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        assert_eq!(g.len(), 1);
        assert_eq!(g.get(&too_long), None);
        assert_eq!(g.set("ünïcode", true), Ok(None));
        assert_eq!(g.get_as::<bool>("ünïcode"), Some(true));
    }

    #[test]
    fn typed_values() {
        let g = Globals::new();
        g.set("i", -3i64).unwrap();
        g.set("f", 2.5f64).unwrap();
        g.set("d", Duration::from_millis(250)).unwrap();
        assert_eq!(g.get_as::<i64>("i"), Some(-3));
        assert_eq!(g.get_as::<f64>("f"), Some(2.5));
        assert_eq!(g.get("d"), Some(250_000_000));
        let dbg = format!("{g:?}");
        assert!(dbg.contains("generation: 3"), "{dbg}");
    }

    #[test]
    fn many_threads_share_one_set() {
        let g = Globals::new();
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let g = g.clone();
                std::thread::spawn(move || {
                    for i in 0..100u64 {
                        g.set(&format!("t{t}"), i + 1).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(g.generation(), 400);
        assert_eq!(
            g.iter().collect::<Vec<_>>(),
            (0..4).map(|t| (format!("t{t}"), 100)).collect::<Vec<_>>()
        );
    }
}
