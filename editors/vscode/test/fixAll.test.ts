import { Range, calls } from './vscode-stub';

import * as assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

import { FIX_ALL_KIND, fixAll } from '../src/fixAll';

interface Sent {
  method: string;
  params: any;
}

/** A language client that answers code action requests with `actions`. */
function stubClient(actions: unknown[], options: { resolveProvider?: boolean; resolved?: unknown } = {}) {
  const sent: Sent[] = [];
  const client = {
    sent,
    initializeResult: { capabilities: { codeActionProvider: { resolveProvider: options.resolveProvider ?? false } } },
    code2ProtocolConverter: {
      asTextDocumentIdentifier: (document: { uri: string }) => ({ uri: document.uri }),
      asRange: (range: Range) => ({
        start: { line: range.startLine, character: range.startCharacter },
        end: { line: range.endLine, character: range.endCharacter },
      }),
    },
    protocol2CodeConverter: { asWorkspaceEdit: async (edit: unknown) => ({ converted: edit }) },
    async sendRequest(type: { method: string }, params: unknown) {
      sent.push({ method: type.method, params });
      return type.method === 'codeAction/resolve' ? options.resolved : actions;
    },
  };
  return client as typeof client & Parameters<typeof fixAll>[0];
}

const document = { uri: 'file:///project/app.py', lineCount: 12, version: 3 } as never;
const edit = { changes: { 'file:///project/app.py': [] } };

beforeEach(() => {
  calls.appliedEdits.length = 0;
  calls.executedCommands.length = 0;
});

test('asks for the fix-all kind over the whole document and applies the edit', async () => {
  const client = stubClient([
    { title: 'Insert `await`', kind: 'quickfix', edit: { changes: {} } },
    { title: 'Fix all loopwise problems', kind: FIX_ALL_KIND, edit },
  ]);
  assert.equal(await fixAll(client, document), true);
  assert.deepEqual(client.sent, [
    {
      method: 'textDocument/codeAction',
      params: {
        textDocument: { uri: 'file:///project/app.py' },
        range: { start: { line: 0, character: 0 }, end: { line: 12, character: 0 } },
        context: { diagnostics: [], only: [FIX_ALL_KIND], triggerKind: 1 },
      },
    },
  ]);
  assert.deepEqual(calls.appliedEdits, [{ converted: edit }]);
});

test('nothing to fix: no action, nothing applied', async () => {
  assert.equal(await fixAll(stubClient([]), document), false);
  assert.equal(await fixAll(stubClient([{ title: 'a command', command: 'x' }]), document), false);
  assert.deepEqual(calls.appliedEdits, []);
});

test('an action without an edit is resolved first when the server resolves actions', async () => {
  const unresolved = { title: 'Fix all', kind: FIX_ALL_KIND, data: { uri: 'file:///project/app.py' } };
  const client = stubClient([unresolved], { resolveProvider: true, resolved: { ...unresolved, edit } });
  assert.equal(await fixAll(client, document), true);
  assert.deepEqual(
    client.sent.map((message) => message.method),
    ['textDocument/codeAction', 'codeAction/resolve'],
  );
  assert.deepEqual(calls.appliedEdits, [{ converted: edit }]);
});

test('an action carrying a command runs it', async () => {
  const command = { title: 'Fix all', command: 'loopwise.applyFixes', arguments: ['file:///project/app.py'] };
  assert.equal(await fixAll(stubClient([{ title: 'Fix all', kind: FIX_ALL_KIND, command }]), document), true);
  assert.deepEqual(calls.executedCommands, [{ command: 'loopwise.applyFixes', args: ['file:///project/app.py'] }]);
});
