// Loads the esbuild bundle (`npm run bundle` first) the way VS Code does, with the stubbed
// `vscode`, and activates it where no loopwise binary can be found.

import { calls, resetSettings, setUserSettings } from './vscode-stub';

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

test('the bundle activates, registers the declared commands and says when there is no binary', async () => {
  const bundle = path.join(root, 'dist', 'extension.js');
  assert.ok(fs.existsSync(bundle), 'dist/extension.js exists (npm run bundle)');
  const extension = require(bundle) as { activate(context: unknown): Promise<void>; deactivate(): Promise<void> };
  const extensionPath = fs.mkdtempSync(path.join(os.tmpdir(), 'loopwise-extension-'));
  const savedPath = process.env.PATH;
  process.env.PATH = extensionPath; // holds no loopwise
  resetSettings();
  setUserSettings({ 'loopwise.path': '' });
  try {
    await extension.activate({ subscriptions: [], extensionPath });
  } finally {
    process.env.PATH = savedPath;
    fs.rmSync(extensionPath, { recursive: true, force: true });
  }
  const declared = manifest.contributes.commands.map((command: { command: string }) => command.command).sort();
  assert.deepEqual([...calls.registeredCommands].sort(), declared);
  assert.equal(calls.errorMessages.length, 1, `one error message: ${calls.errorMessages}`);
  assert.match(calls.errorMessages[0], /no `loopwise` binary found.*cargo install.*`loopwise\.path`/);
  assert.ok(calls.outputLines.some((line) => line.includes('no `loopwise` binary found')), 'the log says it too');
  await extension.deactivate();
});
