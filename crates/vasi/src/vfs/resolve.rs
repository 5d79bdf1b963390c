//! The one sandboxed path walker.
//!
//! Every guest path is resolved here, component by component, through the
//! backend's directory handles. A stack of handles stands for `..`, symlinks are
//! followed by the walker itself (at most [`MAX_SYMLINK_HOPS`] of them, then
//! `ELOOP`), and a path that is absolute, leads to an absolute symlink target, or
//! climbs above its base with `..` is refused with `EPERM` — even if it would come
//! back down afterwards, since the walker never stands outside its mount. As the
//! walk only ever hands single names to backends, every backend is confined by
//! construction.

use super::{Dir, Node, OpenOptions};
use crate::Errno;
use std::borrow::Cow;
use std::sync::Arc;

/// How many symlinks one resolution may follow before it fails with `ELOOP`
/// (Linux's limit too).
pub const MAX_SYMLINK_HOPS: u32 = 40;

/// The final component of a resolved path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Last<'p> {
    /// A name in [`Resolved::dir`].
    Name(Cow<'p, str>),
    /// The path ended in `.` (or was `.`): it names `dir` itself.
    Dot,
    /// The path ended in `..`: it names `dir` itself (the parent, already entered).
    DotDot,
}

/// A path resolved up to its final component.
pub(crate) struct Resolved<'p> {
    /// The directory that holds the final component.
    pub(crate) dir: Arc<dyn Dir>,
    /// The final component.
    pub(crate) last: Last<'p>,
    /// Whether the path ended in `/` (the object must be a directory).
    pub(crate) trailing_slash: bool,
}

impl Resolved<'_> {
    /// The final name, if the path did not end in `.` or `..`.
    pub(crate) fn name(&self) -> Option<&str> {
        match &self.last {
            Last::Name(n) => Some(n),
            Last::Dot | Last::DotDot => None,
        }
    }

    fn into_owned(self) -> Resolved<'static> {
        Resolved {
            dir: self.dir,
            last: match self.last {
                Last::Name(n) => Last::Name(Cow::Owned(n.into_owned())),
                Last::Dot => Last::Dot,
                Last::DotDot => Last::DotDot,
            },
            trailing_slash: self.trailing_slash,
        }
    }
}

/// A walk in progress from a base directory.
pub(crate) struct Resolver {
    base: Arc<dyn Dir>,
    /// Directories entered below `base`; empty means "at the base".
    stack: Vec<Arc<dyn Dir>>,
    hops: u32,
}

impl Resolver {
    /// Starts at `base`, which the walk may never leave.
    pub(crate) fn new(base: Arc<dyn Dir>) -> Self {
        Resolver {
            base,
            stack: Vec::new(),
            hops: 0,
        }
    }

    fn top(&self) -> &Arc<dyn Dir> {
        self.stack.last().unwrap_or(&self.base)
    }

    /// Walks every component of `path` but the last, following symlinks on the
    /// way; the last is returned unresolved.
    pub(crate) fn walk<'p>(&mut self, path: &'p str) -> Result<Resolved<'p>, Errno> {
        if path.is_empty() {
            return Err(Errno::Noent);
        }
        if path.starts_with('/') {
            return Err(Errno::Perm);
        }
        if path.as_bytes().contains(&0) {
            return Err(Errno::Inval);
        }
        let trailing_slash = path.ends_with('/');
        let mut components = path.split('/').filter(|c| !c.is_empty()).peekable();
        let mut last = Last::Dot;
        while let Some(c) = components.next() {
            let is_last = components.peek().is_none();
            match c {
                "." => {
                    if is_last {
                        last = Last::Dot;
                    }
                }
                ".." => {
                    if self.stack.pop().is_none() {
                        return Err(Errno::Perm);
                    }
                    if is_last {
                        last = Last::DotDot;
                    }
                }
                name if is_last => last = Last::Name(Cow::Borrowed(name)),
                name => self.enter(name)?,
            }
        }
        Ok(Resolved {
            dir: self.top().clone(),
            last,
            trailing_slash,
        })
    }

    /// Continues the walk at the target of the symlink that was the final
    /// component of `link` (whose `dir` is where the walk stands). A trailing
    /// slash on the link's path still demands a directory at the end.
    pub(crate) fn follow(
        &mut self,
        link: &Resolved<'_>,
        target: &str,
    ) -> Result<Resolved<'static>, Errno> {
        self.hop()?;
        let mut r = self.walk(target)?.into_owned();
        r.trailing_slash |= link.trailing_slash;
        Ok(r)
    }

    fn hop(&mut self) -> Result<(), Errno> {
        self.hops += 1;
        if self.hops > MAX_SYMLINK_HOPS {
            return Err(Errno::Loop);
        }
        Ok(())
    }

    /// Enters the directory `name` of the current directory, following a symlink.
    fn enter(&mut self, name: &str) -> Result<(), Errno> {
        let top = self.top();
        match top.open(name, &OpenOptions::lookup_dir()) {
            Ok(Node::Dir(d)) => {
                self.stack.push(d);
                Ok(())
            }
            Ok(Node::File(_)) => Err(Errno::Notdir),
            Err(Errno::Loop) => {
                let target = top.read_link(name)?;
                self.hop()?;
                self.enter_path(&target)
            }
            Err(e) => Err(e),
        }
    }

    /// Enters the directory that `path` (a symlink's target) names.
    fn enter_path(&mut self, path: &str) -> Result<(), Errno> {
        let r = self.walk(path)?;
        match r.last {
            Last::Name(name) => self.enter(&name),
            Last::Dot | Last::DotDot => Ok(()),
        }
    }
}
