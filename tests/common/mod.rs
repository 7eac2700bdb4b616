//! An in-process LSP client for tests: the real server on one end of a `tokio::io::duplex`,
//! Content-Length framing on the wire, and helpers that make a test read like a transcript.
// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use loopwise::lsp::State;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream, WriteHalf};
use tokio::sync::{Mutex, mpsc};

/// How long a test waits for a message before it fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(20);

pub struct TestClient {
    writer: Arc<Mutex<WriteHalf<DuplexStream>>>,
    incoming: mpsc::UnboundedReceiver<Value>,
    pub state: Arc<State>,
    next_id: i64,
}

impl TestClient {
    /// Starts a server. Requests the server makes of the client (`client/registerCapability`)
    /// are answered with `null` by the reader task and also handed to the test.
    pub fn start() -> Self {
        let (client_end, server_end) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_end);
        let (service, socket, state) = loopwise::lsp::new_service();
        tokio::spawn(loopwise::lsp::serve(server_read, server_write, service, socket, Arc::clone(&state)));

        let (client_read, client_write) = tokio::io::split(client_end);
        let writer = Arc::new(Mutex::new(client_write));
        let (sender, incoming) = mpsc::unbounded_channel();
        let answer = Arc::clone(&writer);
        // Reading on its own task keeps the server's output flowing while a test sends many
        // messages without reading; otherwise both sides could block on full pipes.
        tokio::spawn(async move {
            let mut reader = BufReader::new(client_read);
            while let Some(message) = read_message(&mut reader).await {
                if message.get("method").is_some()
                    && let Some(id) = message.get("id")
                {
                    let reply = json!({"jsonrpc": "2.0", "id": id, "result": null});
                    write_frame(&answer, reply.to_string().as_bytes()).await;
                }
                if sender.send(message).is_err() {
                    return;
                }
            }
        });
        Self { writer, incoming, state, next_id: 0 }
    }

    /// Starts a server and completes `initialize` + `initialized`; returns the initialize result.
    pub async fn initialized(capabilities: Value, initialization_options: Value) -> (Self, Value) {
        Self::initialized_with(
            json!({"processId": null, "rootUri": null, "capabilities": capabilities, "initializationOptions": initialization_options}),
        )
        .await
    }

    /// Like [`TestClient::initialized`], with the whole `initialize` params.
    pub async fn initialized_with(params: Value) -> (Self, Value) {
        let mut client = Self::start();
        let result = client.request_ok("initialize", params).await;
        client.notify("initialized", json!({})).await;
        (client, result)
    }

    pub async fn send(&self, message: &Value) {
        write_frame(&self.writer, message.to_string().as_bytes()).await;
    }

    pub async fn send_raw(&self, bytes: &[u8]) {
        let mut writer = self.writer.lock().await;
        writer.write_all(bytes).await.expect("server input open");
        writer.flush().await.expect("server input open");
    }

    pub async fn notify(&self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params})).await;
    }

    /// Sends a request and returns its response message (result or error) and the messages
    /// that arrived before it, so a test can assert on those too.
    pub async fn request_with_id(&mut self, method: &str, params: Value) -> (Value, Vec<Value>) {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        let mut before = Vec::new();
        loop {
            let message = self.recv().await;
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                return (message, before);
            }
            before.push(message);
        }
    }

    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        self.request_with_id(method, params).await.0
    }

    pub async fn request_ok(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params).await;
        assert!(response.get("error").is_none(), "{method} failed: {response}");
        response["result"].clone()
    }

    pub async fn recv(&mut self) -> Value {
        tokio::time::timeout(PATIENCE, self.incoming.recv())
            .await
            .expect("the server answered in time")
            .expect("the server is still running")
    }

    /// The next message for which `wanted` holds; the ones before it are returned too.
    pub async fn recv_until(&mut self, wanted: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let message = self.recv().await;
            if wanted(&message) {
                return (message, before);
            }
            before.push(message);
        }
    }

    /// The next notification of `method`, skipping others.
    pub async fn expect_notification(&mut self, method: &str) -> Value {
        self.recv_until(|message| message["method"] == method).await.0["params"].clone()
    }

    /// Every message that arrives within `quiet` of the previous one.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut messages = Vec::new();
        while let Ok(Some(message)) = tokio::time::timeout(quiet, self.incoming.recv()).await {
            messages.push(message);
        }
        messages
    }

    pub async fn open(&self, uri: &str, version: i32, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}}),
        )
        .await;
    }

    /// An incremental change replacing `range` (`[[line, character], [line, character]]`).
    pub async fn change(&self, uri: &str, version: i32, start: (usize, usize), end: (usize, usize), text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": range(start, end), "text": text}],
            }),
        )
        .await;
    }
}

pub fn range(start: (usize, usize), end: (usize, usize)) -> Value {
    json!({"start": {"line": start.0, "character": start.1}, "end": {"line": end.0, "character": end.1}})
}

async fn write_frame(writer: &Mutex<WriteHalf<DuplexStream>>, body: &[u8]) {
    let mut writer = writer.lock().await;
    let header = format!("Content-Length: {}\r\n\r\n", body.len());
    writer.write_all(header.as_bytes()).await.expect("server input open");
    writer.write_all(body).await.expect("server input open");
    writer.flush().await.expect("server input open");
}

async fn read_message<R: tokio::io::AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).await.ok()?;
    Some(serde_json::from_slice(&body).expect("the server writes JSON"))
}

/// The (line, UTF-16 column) of byte `offset` in `text`, computed independently of
/// `loopwise::position` so a bug there cannot hide in both client and server. Lines end at
/// `\n` only: the texts the tests generate contain no lone `\r`.
pub fn utf16_position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (line, before[line_start..].encode_utf16().count())
}

/// The byte offset of an LSP position in `text`, columns in UTF-8 bytes or UTF-16 code units;
/// like [`utf16_position`], independent of `loopwise::position`.
pub fn offset_of(text: &str, position: &Value, utf8: bool) -> usize {
    let line = usize::try_from(position["line"].as_u64().expect("a line")).expect("a small line");
    let column = usize::try_from(position["character"].as_u64().expect("a character")).expect("a small column");
    let line_start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let mut units = 0;
    for (at, character) in text[line_start..].char_indices() {
        if units >= column || character == '\n' {
            return line_start + at;
        }
        units += if utf8 { character.len_utf8() } else { character.len_utf16() };
    }
    text.len()
}

/// `text` with a list of LSP text edits applied, as a client applies them.
pub fn apply_edits(text: &str, edits: &Value, utf8: bool) -> String {
    let mut spans: Vec<(usize, usize, &str)> = edits
        .as_array()
        .expect("edits are an array")
        .iter()
        .map(|edit| {
            let start = offset_of(text, &edit["range"]["start"], utf8);
            let end = offset_of(text, &edit["range"]["end"], utf8);
            (start, end, edit["newText"].as_str().expect("newText"))
        })
        .collect();
    spans.sort_by_key(|&(start, end, _)| (start, end));
    let mut result = text.to_string();
    for (start, end, new_text) in spans.into_iter().rev() {
        result.replace_range(start..end, new_text);
    }
    result
}

/// The edits of a one-document workspace edit, in either of its shapes.
pub fn workspace_edits(edit: &Value, uri: &str) -> Value {
    if let Some(changes) = edit.get("documentChanges") {
        return changes[0]["edits"].clone();
    }
    edit["changes"][uri].clone()
}
