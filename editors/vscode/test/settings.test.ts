import { calls as _calls, properties, resetSettings, setUserSettings, vscodeStub } from './vscode-stub';

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeEach, test } from 'node:test';

import { CLIENT_SETTINGS, SERVER_SETTINGS, changesServerOptions, needsRestart, serverOptions } from '../src/settings';

void _calls;
const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures');
const readFixture = (name: string) => JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8'));
const loopwiseConfiguration = () => vscodeStub.workspace.getConfiguration('loopwise');

beforeEach(resetSettings);

test('every contributed setting is either sent to the server or used by the extension', () => {
  const contributed = Object.keys(properties).sort();
  const known = [...SERVER_SETTINGS.map(([setting]) => setting), ...CLIENT_SETTINGS].map((s) => `loopwise.${s}`).sort();
  assert.deepEqual(contributed, known);
});

test('server keys are the kebab-case spelling of the settings', () => {
  for (const [setting, key] of SERVER_SETTINGS) {
    assert.equal(key, setting.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`));
  }
});

test('unset settings are left out, though VS Code reads them as empty values', () => {
  assert.deepEqual(loopwiseConfiguration().get('select'), []);
  assert.deepEqual(loopwiseConfiguration().get('severity'), {});
  assert.deepEqual(serverOptions(loopwiseConfiguration()), {});
});

test('a fully populated settings.json maps to the committed initializationOptions', () => {
  // tests/editors.rs feeds full-initialization-options.json to the server's own parser.
  const settings = readFixture('full-settings.json');
  assert.deepEqual(Object.keys(settings).sort(), Object.keys(properties).sort(), 'the fixture sets every setting');
  setUserSettings(settings);
  assert.deepEqual(serverOptions(loopwiseConfiguration()), readFixture('full-initialization-options.json'));
});

test('the extension-only settings never reach the server', () => {
  setUserSettings({ 'loopwise.path': '/usr/bin/loopwise', 'loopwise.trace.server': 'messages' });
  assert.deepEqual(serverOptions(loopwiseConfiguration()), {});
});

test('settings of a workspace, a folder or the python language count as set', () => {
  setUserSettings({ 'loopwise.select': ['LW1'] }, 'workspaceValue');
  setUserSettings({ 'loopwise.ignore': ['LW106'] }, 'workspaceFolderValue');
  setUserSettings({ 'loopwise.targetVersion': '3.13' }, 'globalLanguageValue');
  assert.deepEqual(serverOptions(loopwiseConfiguration()), {
    select: ['LW1'],
    ignore: ['LW106'],
    'target-version': '3.13',
  });
});

test('an explicitly empty list is sent (it means: no rules), an empty version is not', () => {
  setUserSettings({ 'loopwise.select': [], 'loopwise.targetVersion': '  ' });
  assert.deepEqual(serverOptions(loopwiseConfiguration()), { select: [] });
});

test('blocking calls may be a list of qualified names', () => {
  setUserSettings({ 'loopwise.blockingCalls': ['legacy.client.fetch'] });
  assert.deepEqual(serverOptions(loopwiseConfiguration()), { 'blocking-calls': ['legacy.client.fetch'] });
});

test('a changed path restarts the server; a changed rule setting is sent as new settings', () => {
  const affecting = (changed: string) => (section: string) => changed === section || changed.startsWith(`${section}.`);
  assert.equal(needsRestart(affecting('loopwise.path')), true);
  assert.equal(needsRestart(affecting('loopwise.select')), false);
  assert.equal(changesServerOptions(affecting('loopwise.select')), true);
  assert.equal(changesServerOptions(affecting('loopwise.perFileIgnores')), true);
  assert.equal(changesServerOptions(affecting('loopwise.trace.server')), false);
  assert.equal(changesServerOptions(affecting('python.analysis')), false);
});
