//! The async library a module is written for, and the names each library gives to what the
//! rules talk about (sleeping, running a call in a thread, the cancellation exception, a
//! timeout scope), so that a finding or a fix in a trio module speaks trio.
//!
//! A module's library comes from its imports ([`AsyncLibrary::of_imports`], computed when the
//! semantic model is built): any import of `asyncio` (`import asyncio`, `from asyncio import
//! x`, `import asyncio.subprocess`) or of `uvloop` makes it asyncio code, whatever else it
//! imports; otherwise
//! an import of `anyio` makes it anyio code (anyio's names work on its trio backend too, so a
//! module importing both anyio and trio gets anyio's); otherwise an import of `trio` makes it
//! trio code. A module importing none of them belongs to its own package's library when the
//! package is `trio` or `anyio` (their own sources import each other relatively), and is
//! otherwise taken to be asyncio code, the standard library's ([`AsyncLibrary::DEFAULT`]).
//!
//! It knows nothing of rules, settings or files.

/// The async library of a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsyncLibrary {
    Asyncio,
    Trio,
    Anyio,
}

impl AsyncLibrary {
    /// The library of a module that imports none: the standard library's.
    pub const DEFAULT: AsyncLibrary = AsyncLibrary::Asyncio;

    /// The library a set of imports shows (the qualified names the imports bind: `asyncio`,
    /// `trio.lowlevel`, `anyio.abc.TaskGroup`); `None` when no import names one.
    pub fn of_imports<'a>(imports: impl IntoIterator<Item = &'a str>) -> Option<AsyncLibrary> {
        let (mut trio, mut anyio) = (false, false);
        for import in imports {
            match AsyncLibrary::of_module(import) {
                Some(AsyncLibrary::Asyncio) => return Some(AsyncLibrary::Asyncio),
                Some(AsyncLibrary::Trio) => trio = true,
                Some(AsyncLibrary::Anyio) => anyio = true,
                None => {}
            }
        }
        if anyio {
            Some(AsyncLibrary::Anyio)
        } else if trio {
            Some(AsyncLibrary::Trio)
        } else {
            None
        }
    }

    /// The library a dotted module (or member) name belongs to: `trio._core._run` is trio's.
    /// Relative names (`.trio`) belong to none.
    pub fn of_module(name: &str) -> Option<AsyncLibrary> {
        match name.split('.').next()? {
            // uvloop's loops are asyncio's.
            "asyncio" | "uvloop" => Some(AsyncLibrary::Asyncio),
            "trio" => Some(AsyncLibrary::Trio),
            "anyio" => Some(AsyncLibrary::Anyio),
            _ => None,
        }
    }

    /// The module a fix imports to name the library's functions.
    pub const fn module(self) -> &'static str {
        match self {
            AsyncLibrary::Asyncio => "asyncio",
            AsyncLibrary::Trio => "trio",
            AsyncLibrary::Anyio => "anyio",
        }
    }

    /// The coroutine function that sleeps without blocking: `asyncio.sleep`.
    pub const fn sleep(self) -> &'static str {
        match self {
            AsyncLibrary::Asyncio => "asyncio.sleep",
            AsyncLibrary::Trio => "trio.sleep",
            AsyncLibrary::Anyio => "anyio.sleep",
        }
    }

    /// The coroutine function that runs a sync call in a worker thread: `asyncio.to_thread`.
    pub const fn to_thread(self) -> &'static str {
        match self {
            AsyncLibrary::Asyncio => "asyncio.to_thread",
            AsyncLibrary::Trio => "trio.to_thread.run_sync",
            AsyncLibrary::Anyio => "anyio.to_thread.run_sync",
        }
    }

    /// Whether [`Self::to_thread`] passes keyword arguments on to the function: asyncio's
    /// does; trio's and anyio's `run_sync` take positional arguments only (keywords need
    /// `functools.partial`).
    pub const fn to_thread_passes_keywords(self) -> bool {
        matches!(self, AsyncLibrary::Asyncio)
    }

    /// The expression naming the exception that cancellation raises, as an `except` clause
    /// writes it: `asyncio.CancelledError`, `trio.Cancelled`, `anyio.get_cancelled_exc_class()`.
    pub const fn cancelled(self) -> &'static str {
        match self {
            AsyncLibrary::Asyncio => "asyncio.CancelledError",
            AsyncLibrary::Trio => "trio.Cancelled",
            AsyncLibrary::Anyio => "anyio.get_cancelled_exc_class()",
        }
    }

    /// The cancellation exception in a message: "`asyncio.CancelledError`"; anyio's depends on
    /// the backend, so it is described rather than named.
    pub const fn cancelled_in_prose(self) -> &'static str {
        match self {
            AsyncLibrary::Asyncio => "`asyncio.CancelledError`",
            AsyncLibrary::Trio => "`trio.Cancelled`",
            AsyncLibrary::Anyio => "the cancellation exception",
        }
    }

    /// The header of a block that bounds its body to `seconds` (the caller adds the colon):
    /// `async with asyncio.timeout(10)`, `with trio.fail_after(10)`.
    pub fn timeout_block(self, seconds: &str) -> String {
        match self {
            AsyncLibrary::Asyncio => format!("async with asyncio.timeout({seconds})"),
            AsyncLibrary::Trio => format!("with trio.fail_after({seconds})"),
            AsyncLibrary::Anyio => format!("with anyio.fail_after({seconds})"),
        }
    }

    /// The scope callers bound a coroutine with, for messages: `asyncio.timeout()`.
    pub const fn timeout_scope(self) -> &'static str {
        match self {
            AsyncLibrary::Asyncio => "asyncio.timeout()",
            AsyncLibrary::Trio => "trio.fail_after()",
            AsyncLibrary::Anyio => "anyio.fail_after()",
        }
    }

    /// The event a task waits on instead of polling, with its article: "an `asyncio.Event`".
    pub const fn event(self) -> &'static str {
        match self {
            AsyncLibrary::Asyncio => "an `asyncio.Event`",
            AsyncLibrary::Trio => "a `trio.Event`",
            AsyncLibrary::Anyio => "an `anyio.Event`",
        }
    }
}

/// The library whose cancellation exception a qualified name is: `asyncio.CancelledError`,
/// `trio.Cancelled`, and anyio's `get_cancelled_exc_class` (called, it gives the backend's).
/// anyio's own modules import it relatively (`from ._core._eventloop import ...`), which keeps
/// the leading dot: a relative `get_cancelled_exc_class` is anyio's, as is its defining module.
pub fn cancellation_library(qualified: &str) -> Option<AsyncLibrary> {
    match qualified {
        "asyncio.CancelledError" | "asyncio.exceptions.CancelledError" => Some(AsyncLibrary::Asyncio),
        "trio.Cancelled" => Some(AsyncLibrary::Trio),
        "anyio.get_cancelled_exc_class" => Some(AsyncLibrary::Anyio),
        _ if qualified.ends_with(".get_cancelled_exc_class")
            && (qualified.starts_with('.') || qualified.starts_with("anyio.")) =>
        {
            Some(AsyncLibrary::Anyio)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asyncio_wins_then_anyio_then_trio() {
        let of = |imports: &[&str]| AsyncLibrary::of_imports(imports.iter().copied());
        assert_eq!(of(&["os", "trio"]), Some(AsyncLibrary::Trio));
        assert_eq!(of(&["trio.lowlevel"]), Some(AsyncLibrary::Trio));
        assert_eq!(of(&["anyio.abc.TaskGroup"]), Some(AsyncLibrary::Anyio));
        assert_eq!(of(&["trio", "anyio"]), Some(AsyncLibrary::Anyio));
        assert_eq!(of(&["anyio", "asyncio.subprocess"]), Some(AsyncLibrary::Asyncio));
        assert_eq!(of(&["trio", "uvloop"]), Some(AsyncLibrary::Asyncio));
        assert_eq!(of(&["trio_websocket.open_websocket_url", ".trio", "os"]), None);
        assert_eq!(of(&[]), None);
    }
}
