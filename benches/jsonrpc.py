"""LSP base-protocol framing for the benches that drive a language server over stdio
(keystroke.py, storms.py): one message read from, or written to, a byte stream."""
import json


def read_message(stream):
    """The next message on `stream`, or None at its end."""
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        key, _, value = line.partition(b":")
        if key.lower() == b"content-length":
            length = int(value)
    return json.loads(stream.read(length))


def frame(message):
    """`message` as the bytes to send: its header and its JSON body."""
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body
