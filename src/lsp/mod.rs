//! `loopwise server`: the language server, a thin protocol layer over the engine.
//!
//! Owns the protocol: capability negotiation (position encoding, push or pull diagnostics),
//! the open documents and their incremental sync, turning engine diagnostics into LSP ones
//! (through [`crate::position`] in the negotiated encoding), code actions and hovers built from
//! what the engine already reported, editor settings, and keeping the server alive through
//! panics and malformed input.
//!
//! It must not know how rules work or how configuration files are found: it hands text and
//! tree to [`crate::analysis::lint`] and asks [`crate::config::Resolver`] for settings. The
//! engine, in turn, knows nothing of this module.
//!
//! Invariants: a document change is applied before its handler's first `.await` (handlers run
//! concurrently and only that prefix runs in arrival order); no `DashMap` guard lives across an
//! `.await`; the last diagnostics published for a document are those of its latest text.

mod actions;
mod convert;
mod documents;
mod notebooks;
mod server;
mod transport;

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::{ClientSocket, LspService, Server};

#[doc(hidden)]
pub use server::PanicSeam;
pub use server::{Backend, EditorSettings, State, editor_settings};

/// The service and its client socket, plus the state the backend shares (for tests: the
/// server's copy of each document, and the panic seam).
pub fn new_service() -> (LspService<Backend>, ClientSocket, Arc<State>) {
    let mut shared = None;
    let (service, socket) = LspService::build(|client| {
        let state = Arc::new(State::new(client));
        shared = Some(Arc::clone(&state));
        Backend::new(state)
    })
    .custom_method(transport::INVALID_MESSAGE_METHOD, Backend::invalid_message)
    .finish();
    let state = shared.expect("LspService::build calls the constructor before returning");
    (service, socket, state)
}

/// Serves the service on `input`/`output` until the client exits or closes the input.
pub async fn serve<I, O>(input: I, output: O, service: LspService<Backend>, socket: ClientSocket, state: Arc<State>)
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let stand_ins = Arc::new(transport::StandIns::default());
    let input = transport::guard(input, state, Arc::clone(&stand_ins));
    // The server writes into a pipe whose other end gives answers to stand-in ids their
    // client's id back; it ends when the server drops its end.
    let (server_output, client_output) = tokio::io::duplex(64 * 1024);
    let serving = async move { Server::new(input, server_output, socket).serve(service).await };
    tokio::join!(serving, transport::restore_ids(client_output, output, stand_ins));
}

/// Serves on stdin and stdout: `loopwise server`. Returns whether the client asked for
/// `shutdown` before the session ended: LSP's `exit` asks for exit code 0 then, else 1.
pub async fn run_stdio() -> bool {
    let (service, socket, state) = new_service();
    serve(tokio::io::stdin(), tokio::io::stdout(), service, socket, Arc::clone(&state)).await;
    state.was_shut_down()
}
