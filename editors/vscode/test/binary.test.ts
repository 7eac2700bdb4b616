import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { BinaryNotFound, type DiscoveryContext, findBinary } from '../src/binary';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'loopwise-binary-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A fresh folder with the given files; `executable` ones get mode 755. */
function folder(files: Record<string, 'executable' | 'plain'>): string {
  const dir = path.join(root, String(counter++));
  for (const [name, kind] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '#!/bin/sh\n', { mode: kind === 'executable' ? 0o755 : 0o644 });
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function context(overrides: Partial<DiscoveryContext>): DiscoveryContext {
  return {
    configuredPath: '',
    extensionPath: folder({}),
    env: { PATH: folder({}), HOME: folder({}) },
    platform: 'linux',
    ...overrides,
  };
}

test('the loopwise.path setting wins over the bundled binary and PATH', () => {
  const custom = folder({ 'custom/loopwise': 'executable' });
  const found = findBinary(
    context({
      configuredPath: path.join(custom, 'custom/loopwise'),
      extensionPath: folder({ 'bin/loopwise': 'executable' }),
      env: { PATH: folder({ loopwise: 'executable' }) },
    }),
  );
  assert.deepEqual(found, { path: path.join(custom, 'custom/loopwise'), source: 'setting' });
});

test('loopwise.path expands ~ and ${workspaceFolder}, and is relative to the workspace folder', () => {
  const home = folder({ '.cargo/bin/loopwise': 'executable' });
  const workspace = folder({ 'tools/loopwise': 'executable' });
  const expected = (file: string) => ({ path: file, source: 'setting' });
  const base = { env: { HOME: home, PATH: '' }, workspaceFolder: workspace };
  assert.deepEqual(
    findBinary(context({ ...base, configuredPath: '~/.cargo/bin/loopwise' })),
    expected(path.join(home, '.cargo/bin/loopwise')),
  );
  assert.deepEqual(
    findBinary(context({ ...base, configuredPath: '${workspaceFolder}/tools/loopwise' })),
    expected(path.join(workspace, 'tools/loopwise')),
  );
  assert.deepEqual(
    findBinary(context({ ...base, configuredPath: 'tools/loopwise' })),
    expected(path.join(workspace, 'tools/loopwise')),
  );
});

test('a loopwise.path that is no executable is an error naming the setting, not a silent fallback', () => {
  const notExecutable = path.join(folder({ loopwise: 'plain' }), 'loopwise');
  for (const configuredPath of ['/nonexistent/loopwise', notExecutable]) {
    assert.throws(
      () => findBinary(context({ configuredPath, env: { PATH: folder({ loopwise: 'executable' }) } })),
      (error: unknown) => error instanceof BinaryNotFound && /`loopwise\.path`/.test(error.message),
    );
  }
});

test('the bundled binary wins over PATH', () => {
  const extensionPath = folder({ 'bin/loopwise': 'executable' });
  const found = findBinary(context({ extensionPath, env: { PATH: folder({ loopwise: 'executable' }) } }));
  assert.deepEqual(found, { path: path.join(extensionPath, 'bin/loopwise'), source: 'bundled' });
});

test('PATH is searched in order, skipping folders without an executable loopwise', () => {
  const plain = folder({ loopwise: 'plain' });
  const empty = folder({});
  const good = folder({ loopwise: 'executable' });
  const later = folder({ loopwise: 'executable' });
  const found = findBinary(context({ env: { PATH: ['', plain, empty, good, later].join(':') } }));
  assert.deepEqual(found, { path: path.join(good, 'loopwise'), source: 'PATH' });
});

test('on Windows, PATH is split on ; and PATHEXT names the executable', () => {
  const tools = folder({ 'loopwise.exe': 'plain' });
  const found = findBinary(context({ platform: 'win32', env: { Path: `C:\\nothing;${tools}`, PATHEXT: '.COM;.EXE' } }));
  assert.deepEqual(found, { path: path.join(tools, 'loopwise.exe'), source: 'PATH' });
  const extensionPath = folder({ 'bin/loopwise.exe': 'plain' });
  assert.equal(findBinary(context({ platform: 'win32', extensionPath })).source, 'bundled');
});

test('no binary anywhere is an error that says how to install one or set loopwise.path', () => {
  assert.throws(
    () => findBinary(context({})),
    (error: unknown) =>
      error instanceof BinaryNotFound &&
      error.message.includes('pip install .') &&
      error.message.includes('cargo install --path . --locked') &&
      error.message.includes('`loopwise.path`') &&
      error.message.includes('PATH'),
  );
});
