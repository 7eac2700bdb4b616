//! A guard between the wire and tower-lsp-server's decoder.
//!
//! tower-lsp-server 0.23 reads stdin through tokio-util's `FramedRead`, which ends the stream
//! after the first frame its decoder rejects (bad headers, invalid UTF-8, a body that is not a
//! JSON-RPC message); the server then stops reading and exits. An editor extension with a bug
//! should cost one message, not the session, so this task re-frames the input and passes on
//! only messages the decoder will accept:
//!
//! - bytes outside a frame are skipped up to the next `Content-Length` header;
//! - a body that is not JSON is dropped and logged;
//! - a JSON body that is not a request or response but carries an `id` is turned into a
//!   request to `$/loopwise/invalidMessage` with the same id, which the server answers with an
//!   "invalid request" error, so the client is not left waiting for a reply;
//! - an id the decoder cannot hold (`1.5`, `1e3`, `2^63`: it takes an i64 or a string) travels
//!   through the server as a stand-in string, which [`restore_ids`] swaps back for the
//!   client's own id on the way out, so the answer still reaches the request it is for;
//! - a response from the client that the decoder would reject is dropped and logged (no one
//!   waits for an answer to a response);
//! - a lone UTF-16 surrogate escaped in a string (`\ud800`, which a JavaScript client can
//!   send and JSON parsers refuse) becomes U+FFFD, one UTF-16 unit as the surrogate was, so the
//!   message is kept and the client's positions still match the text.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tower_lsp_server::jsonrpc::{Request, Response};
use tower_lsp_server::ls_types::MessageType;

use super::server::State;

pub const INVALID_MESSAGE_METHOD: &str = "$/loopwise/invalidMessage";

/// The start of every stand-in id: no client sends ids like it (they are numbers or UUIDs), and
/// a response holding it is the only one [`restore_ids`] parses.
const STAND_IN: &str = "$loopwise/id:";

/// The clients' ids the decoder cannot hold, by the stand-in string that replaced each until
/// the server answers it.
#[derive(Default)]
pub struct StandIns {
    ids: Mutex<(u64, HashMap<String, Value>)>,
}

impl StandIns {
    fn stand_in(&self, id: Value) -> String {
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        ids.0 += 1;
        let stand_in = format!("{STAND_IN}{}", ids.0);
        ids.1.insert(stand_in.clone(), id);
        stand_in
    }

    fn take(&self, stand_in: &str) -> Option<Value> {
        self.ids.lock().unwrap_or_else(PoisonError::into_inner).1.remove(stand_in)
    }

    fn is_empty(&self) -> bool {
        self.ids.lock().unwrap_or_else(PoisonError::into_inner).1.is_empty()
    }
}

/// Starts the guard on `input`; the server reads the returned stream instead.
pub fn guard<R>(input: R, state: Arc<State>, stand_ins: Arc<StandIns>) -> DuplexStream
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let (server_side, guard_side) = tokio::io::duplex(64 * 1024);
    tokio::spawn(forward_valid_frames(input, guard_side, state, stand_ins));
    server_side
}

/// Copies the server's output (`from`) to the client (`to`) frame by frame, giving each answer
/// to a stand-in id the client's own id back. Ends when the server closes `from`.
pub async fn restore_ids<W: AsyncWrite + Unpin>(from: DuplexStream, mut to: W, stand_ins: Arc<StandIns>) {
    let mut from = BufReader::new(from);
    let finder = memchr::memmem::Finder::new(STAND_IN.as_bytes());
    while let Some(mut body) = read_frame_quietly(&mut from).await {
        // Only the rare answer to a stand-in is parsed; everything else is copied as it is.
        if !stand_ins.is_empty()
            && finder.find(&body).is_some()
            && let Ok(mut message) = serde_json::from_slice::<Value>(&body)
            && let Some(original) = message.get("id").and_then(Value::as_str).and_then(|id| stand_ins.take(id))
        {
            message["id"] = original;
            body = message.to_string().into_bytes();
        }
        let header = format!("Content-Length: {}\r\n\r\n", body.len());
        if to.write_all(header.as_bytes()).await.is_err()
            || to.write_all(&body).await.is_err()
            || to.flush().await.is_err()
        {
            return;
        }
    }
    let _ = to.flush().await;
}

async fn forward_valid_frames<R: AsyncRead + Unpin>(
    input: R,
    mut output: DuplexStream,
    state: Arc<State>,
    stand_ins: Arc<StandIns>,
) {
    let mut input = BufReader::new(input);
    // Ends on end of input or a broken pipe; dropping `output` then ends the server's input as
    // the end of stdin would.
    while let Some(mut frame) = read_frame(&mut input, &state).await {
        let mut checked = check(&frame);
        // Only a message that failed is scanned for lone surrogates.
        if matches!(checked, Err(Invalid { id: None, .. }))
            && let Some(replaced) = replace_lone_surrogates(&frame)
        {
            frame = replaced;
            checked = check(&frame);
        }
        let body = match checked {
            Ok(()) => frame,
            Err(Invalid { error, id: Some(id) }) => {
                // The decoder takes an i64 or a string; anything else would end the stream.
                let id = if id.is_string() || id.as_i64().is_some() { id } else { Value::from(stand_ins.stand_in(id)) };
                let request =
                    json!({"jsonrpc": "2.0", "id": id, "method": INVALID_MESSAGE_METHOD, "params": {"error": error}});
                request.to_string().into_bytes()
            }
            Err(Invalid { error, id: None }) => {
                state.client().log_message(MessageType::ERROR, format!("dropped an invalid message: {error}")).await;
                continue;
            }
        };
        let header = format!("Content-Length: {}\r\n\r\n", body.len());
        if output.write_all(header.as_bytes()).await.is_err() || output.write_all(&body).await.is_err() {
            return;
        }
    }
}

/// The next frame's body from the server, which frames every message correctly.
async fn read_frame_quietly<R: AsyncRead + Unpin>(input: &mut BufReader<R>) -> Option<Vec<u8>> {
    next_frame(input).await?.1
}

/// The next frame's body, or `None` at the end of the input; bytes outside a frame are logged.
async fn read_frame<R: AsyncRead + Unpin>(input: &mut BufReader<R>, state: &State) -> Option<Vec<u8>> {
    let (skipped, body) = next_frame(input).await?;
    if skipped > 0 {
        state
            .client()
            .log_message(MessageType::ERROR, format!("skipped {skipped} bytes that were not a message"))
            .await;
    }
    body
}

/// How many bytes outside a frame came before the next frame's headers ended, and its body
/// (`None` when the frame ended early or had no length); `None` at the end of the input.
async fn next_frame<R: AsyncRead + Unpin>(input: &mut BufReader<R>) -> Option<(usize, Option<Vec<u8>>)> {
    let mut content_length = None;
    let mut skipped = 0;
    loop {
        let mut line = Vec::new();
        if input.read_until(b'\n', &mut line).await.ok()? == 0 {
            return None;
        }
        let header = line.strip_suffix(b"\n").unwrap_or(&line);
        let header = header.strip_suffix(b"\r").unwrap_or(header);
        if header.is_empty() {
            if content_length.is_some() {
                break;
            }
            continue;
        }
        match parse_content_length(header) {
            Some(Ok(length)) => content_length = Some(length),
            // Other headers (`Content-Type`) are dropped: the body is passed on as UTF-8 JSON
            // with a fresh `Content-Length`, which is all the decoder needs.
            None if is_header(header) => {}
            Some(Err(())) | None => skipped += line.len(),
        }
    }
    let body = async {
        let length = u64::try_from(content_length?).ok()?;
        let mut body = Vec::new();
        // `take` + `read_to_end` grows the buffer as bytes arrive, so a garbage length cannot
        // allocate gigabytes up front.
        let read = input.take(length).read_to_end(&mut body).await.ok()?;
        (read as u64 == length).then_some(body)
    }
    .await;
    Some((skipped, body))
}

/// `Some(Ok(length))` for a valid `Content-Length` header (also when it follows garbage on the
/// same line), `Some(Err(()))` for one with a bad value, `None` for other lines.
fn parse_content_length(line: &[u8]) -> Option<Result<usize, ()>> {
    const NAME: &[u8] = b"content-length:";
    let at = line.windows(NAME.len()).position(|window| window.eq_ignore_ascii_case(NAME))?;
    let value = std::str::from_utf8(&line[at + NAME.len()..]).map_err(|_| ());
    Some(value.and_then(|value| value.trim().parse().map_err(|_| ())))
}

fn is_header(line: &[u8]) -> bool {
    line.iter()
        .position(|&b| b == b':')
        .is_some_and(|colon| colon > 0 && line[..colon].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-'))
}

struct Invalid {
    error: String,
    id: Option<Value>,
}

/// Whether tower-lsp-server's decoder will accept `body` as a request or a response.
fn check(body: &[u8]) -> Result<(), Invalid> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| Invalid { error: format!("not JSON: {error}"), id: None })?;
    if serde_json::from_value::<Request>(value.clone()).is_ok()
        || serde_json::from_value::<Response>(value.clone()).is_ok()
    {
        return Ok(());
    }
    // A response nobody waits for an answer to (a client's reply with an id the decoder cannot
    // hold) is only dropped; a request gets its "invalid request" answer.
    let is_response = value.get("method").is_none() && (value.get("result").is_some() || value.get("error").is_some());
    let id = value.get("id").filter(|id| !is_response && (id.is_number() || id.is_string())).cloned();
    Err(Invalid { error: format!("not a JSON-RPC 2.0 request or response: {}", truncate(&value.to_string())), id })
}

/// `body` with each escaped lone surrogate (`\ud800` without its low half, or a low half
/// alone) replaced by `\ufffd`; `None` when there is none. Other escapes, `\\` among them,
/// are stepped over whole, so `\\ud800` (a backslash, then text) is left alone.
fn replace_lone_surrogates(body: &[u8]) -> Option<Vec<u8>> {
    let unit = |at: usize| -> Option<u16> {
        let digits = body.get(at..at + 6)?.strip_prefix(b"\\u")?;
        u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let mut fixed = Vec::with_capacity(body.len());
    let (mut at, mut changed) = (0, false);
    while at < body.len() {
        if body[at] != b'\\' {
            fixed.push(body[at]);
            at += 1;
            continue;
        }
        match unit(at) {
            Some(0xD800..=0xDBFF) if unit(at + 6).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low)) => {
                fixed.extend_from_slice(&body[at..at + 12]);
                at += 12;
            }
            Some(0xD800..=0xDFFF) => {
                fixed.extend_from_slice(b"\\ufffd");
                at += 6;
                changed = true;
            }
            Some(_) => {
                fixed.extend_from_slice(&body[at..at + 6]);
                at += 6;
            }
            None => {
                fixed.extend_from_slice(&body[at..(at + 2).min(body.len())]);
                at += 2;
            }
        }
    }
    changed.then_some(fixed)
}

fn truncate(text: &str) -> String {
    const LIMIT: usize = 200;
    match text.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_become_the_replacement_character_and_pairs_stay() {
        let fixed =
            |text: &str| replace_lone_surrogates(text.as_bytes()).map(|bytes| String::from_utf8(bytes).expect("UTF-8"));
        assert_eq!(fixed(r#"{"t":"a\ud800b"}"#).as_deref(), Some(r#"{"t":"a\ufffdb"}"#));
        assert_eq!(fixed(r#"{"t":"\udc00\ud83d"}"#).as_deref(), Some(r#"{"t":"\ufffd\ufffd"}"#));
        assert_eq!(fixed(r#"{"t":"\ud83d\ude00 \\ud800 \u0041"}"#), None, "a pair, an escaped backslash, a letter");
    }
}
