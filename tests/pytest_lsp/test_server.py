"""Black-box tests of `loopwise server` with pytest-lsp, as VS Code and as Neovim.

Each test runs against the built binary (`$LOOPWISE_BIN`, else `loopwise` on PATH) once per
client profile: the capabilities pytest-lsp recorded from VS Code 1.65 (UTF-16 positions,
pushed diagnostics, versioned `documentChanges` edits) and from Neovim 0.11 (UTF-8 positions,
pulled diagnostics, plain `changes`). Both resolve code-action edits lazily. tests/pytest_lsp.rs
runs them from `cargo test`.
"""

from __future__ import annotations

import os

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

LOOPWISE = os.environ.get("LOOPWISE_BIN", "loopwise")
PROFILES = ["visual-studio-code", "neovim"]
PATIENCE = 20  # seconds any one answer may take

# An LW101 (an unsafe fix, which fix-all leaves alone), an LW201 after multi-byte characters (columns differ between
# UTF-8 and UTF-16) and an LW502 (a safe fix).
APP = """\
import asyncio
import time


async def refresh():
    await asyncio.sleep(1)


async def main():
    time.sleep(1)
    note = "ünïcödé →"; refresh()
    loop = asyncio.get_event_loop()
    return note, loop
"""
AWAITED = APP.replace("; refresh()", "; await refresh()")
FIXED = AWAITED.replace("get_event_loop", "get_running_loop")
SUPPRESSED = APP.replace("    time.sleep(1)\n", "    time.sleep(1)  # noqa: LW101\n")


@pytest_lsp.fixture(
    params=PROFILES,
    config=ClientServerConfig(server_command=[LOOPWISE, "server"]),
)
async def client(lsp_client: LanguageClient, request, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    # The editors accept the server's watchers for configuration files (both profiles offer
    # dynamic registration); pytest-lsp's client has no handler of its own.
    lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)(lambda params: None)
    lsp_client.profile = request.param
    lsp_client.project = tmp_path
    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(request.param),
            root_uri=tmp_path.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=tmp_path.as_uri(), name="demo")],
        )
    )
    lsp_client.initialize_result = result
    yield
    await lsp_client.shutdown_session()
    assert lsp_client._server.returncode == 0, "the server did not exit cleanly after shutdown and exit"
    assert lsp_client.error is None, lsp_client.error


# ---------------------------------------------------------------------------------------------
# Helpers


def encoding(client: LanguageClient) -> str:
    return client.initialize_result.capabilities.position_encoding or "utf-16"


def pulls(client: LanguageClient) -> bool:
    return client.capabilities.text_document.diagnostic is not None


def offset(text: str, position: types.Position, encoding: str) -> int:
    """The index in `text` of an LSP position in the negotiated encoding."""
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: position.line])
    line = lines[position.line] if position.line < len(lines) else ""
    if encoding == "utf-8":
        column = len(line.encode("utf-8")[: position.character].decode("utf-8"))
    elif encoding == "utf-16":
        column = len(line.encode("utf-16-le")[: 2 * position.character].decode("utf-16-le"))
    else:
        column = position.character
    return start + column


def apply(text: str, edits: list[types.TextEdit], encoding: str) -> str:
    spans = [(offset(text, e.range.start, encoding), offset(text, e.range.end, encoding), e.new_text) for e in edits]
    for start, end, new_text in sorted(spans, reverse=True):
        text = text[:start] + new_text + text[end:]
    return text


def edits_of(client: LanguageClient, edit: types.WorkspaceEdit | None, uri: str, version: int) -> list[types.TextEdit]:
    """The edits of `uri`, in the shape the profile asked for (`documentChanges` or `changes`)."""
    assert edit is not None, "the action has no edit"
    if client.capabilities.workspace.workspace_edit.document_changes:
        assert edit.changes is None, edit
        [change] = edit.document_changes
        assert change.text_document.uri == uri
        assert change.text_document.version == version, "edits are for the version they were computed on"
        return list(change.edits)
    assert edit.document_changes is None, edit
    return list(edit.changes[uri])


async def open_document(client: LanguageClient, name: str, text: str, version: int = 1) -> str:
    path = client.project / name
    path.write_text(text)
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
        )
    )
    return uri


async def diagnostics(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    """The diagnostics of `uri` the way the profile gets them: pulled, or the next push."""
    if pulls(client):
        report = await client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        assert report.kind == "full", report
        return list(report.items)
    client.diagnostics.pop(uri, None)
    while uri not in client.diagnostics:
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics[uri])


def by_code(found: list[types.Diagnostic]) -> dict[str, types.Diagnostic]:
    return {str(diagnostic.code): diagnostic for diagnostic in found}


async def code_actions(
    client: LanguageClient, uri: str, diagnostic: types.Diagnostic | None, only: list[str]
) -> list[types.CodeAction]:
    whole = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range if diagnostic else whole,
            context=types.CodeActionContext(
                diagnostics=[diagnostic] if diagnostic else [],
                only=[types.CodeActionKind(kind) for kind in only],
            ),
        )
    )
    assert all(isinstance(action, types.CodeAction) for action in actions or []), actions
    return list(actions or [])


# ---------------------------------------------------------------------------------------------
# Tests


async def test_negotiation_follows_the_profile(client: LanguageClient):
    capabilities = client.initialize_result.capabilities
    assert client.initialize_result.server_info.name == "loopwise"
    assert encoding(client) == ("utf-8" if client.profile == "neovim" else "utf-16")
    # Pull diagnostics only for a client that pulls; the other gets them pushed.
    assert (capabilities.diagnostic_provider is not None) == pulls(client)
    kinds = capabilities.code_action_provider.code_action_kinds
    assert types.CodeActionKind.QuickFix in kinds
    assert "source.fixAll.loopwise" in kinds
    assert capabilities.hover_provider


async def test_diagnostics_on_open(client: LanguageClient):
    uri = await open_document(client, "app.py", APP)
    found = by_code(await diagnostics(client, uri))
    assert sorted(found) == ["LW101", "LW201", "LW502"]
    for diagnostic in found.values():
        assert diagnostic.source == "loopwise"
    sleep = found["LW101"].range
    assert (sleep.start.line, sleep.start.character) == (9, 4)
    assert "time.sleep" in found["LW101"].message
    # `refresh()` after `note = "ünïcödé →"; ` on line 10, in the negotiated unit.
    line = APP.split("\n")[10]
    before = line[: line.index("refresh()")]
    expected = len(before.encode("utf-8")) if encoding(client) == "utf-8" else len(before.encode("utf-16-le")) // 2
    assert found["LW201"].range.start.line == 10
    assert found["LW201"].range.start.character == expected
    if pulls(client):
        assert uri not in client.diagnostics, "a pulling client also got diagnostics pushed"


async def test_quick_fix_inserts_await_and_the_change_clears_the_finding(client: LanguageClient):
    uri = await open_document(client, "app.py", APP)
    unawaited = by_code(await diagnostics(client, uri))["LW201"]
    actions = await code_actions(client, uri, unawaited, ["quickfix"])
    titles = [action.title for action in actions]
    assert titles == ["Insert `await`", "Disable LW201 for this line"], titles
    [preferred] = [action for action in actions if action.is_preferred]
    assert preferred.kind == types.CodeActionKind.QuickFix
    assert preferred.diagnostics[0].code == "LW201"
    edits = edits_of(client, preferred.edit, uri, 1)
    assert apply(APP, edits, encoding(client)) == AWAITED

    # What the editor sends after applying it: the same edits as an incremental change.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text) for edit in edits
            ],
        )
    )
    assert sorted(by_code(await diagnostics(client, uri))) == ["LW101", "LW502"]
    # A quick fix computed for version 1 is not offered for version 2.
    assert await code_actions(client, uri, unawaited, ["quickfix"]) == []


async def test_unsafe_fix_and_noqa_for_a_blocking_sleep(client: LanguageClient):
    uri = await open_document(client, "app.py", APP)
    blocking = by_code(await diagnostics(client, uri))["LW101"]
    actions = await code_actions(client, uri, blocking, ["quickfix"])
    titles = [action.title for action in actions]
    assert titles == ["Replace with `await asyncio.sleep(...)` (unsafe)", "Disable LW101 for this line"], titles
    replace, noqa = actions
    assert replace.is_preferred
    replaced = APP.replace("    time.sleep(1)\n", "    await asyncio.sleep(1)\n")
    assert apply(APP, edits_of(client, replace.edit, uri, 1), encoding(client)) == replaced
    assert apply(APP, edits_of(client, noqa.edit, uri, 1), encoding(client)) == SUPPRESSED


async def test_fix_all_resolves_to_every_safe_fix(client: LanguageClient):
    uri = await open_document(client, "app.py", APP)
    await diagnostics(client, uri)
    [action] = await code_actions(client, uri, None, ["source.fixAll"])
    assert action.kind == "source.fixAll.loopwise"
    resolves = client.capabilities.text_document.code_action.resolve_support is not None
    if resolves:
        assert action.edit is None, "a client that resolves gets the edit from codeAction/resolve"
        action = await client.code_action_resolve_async(action)
    edits = edits_of(client, action.edit, uri, 1)
    assert apply(APP, edits, encoding(client)) == FIXED
    # Quick fixes only: no fix-all.
    assert all(action.kind == "quickfix" for action in await code_actions(client, uri, None, ["quickfix"]))


async def test_hover_explains_the_rule(client: LanguageClient):
    uri = await open_document(client, "app.py", APP)
    blocking = by_code(await diagnostics(client, uri))["LW101"]
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=blocking.range.start.line, character=blocking.range.start.character + 2),
        )
    )
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert "LW101" in hover.contents.value
    assert "Why is this bad?" in hover.contents.value
    assert hover.range == blocking.range
    # Nothing to explain away from findings.
    nothing = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=0))
    )
    assert nothing is None


async def test_no_error_is_shown_or_logged(client: LanguageClient):
    uri = await open_document(client, "app.py", APP)
    await diagnostics(client, uri)
    assert [message.message for message in client.messages] == []
    problems = [log.message for log in client.log_messages if log.type <= types.MessageType.Warning]
    assert problems == []
