// Checks what a .vsix (a zip) holds: the manifest and the bundle, no node_modules, no
// TypeScript sources or tests, and a binary (executable) exactly when one is expected.
//
//   node scripts/check-vsix.mjs FILE.vsix [--binary loopwise|--no-binary]

import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import * as zlib from 'node:zlib';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { binary: { type: 'string' }, 'no-binary': { type: 'boolean', default: false } },
});
if (positionals.length !== 1) {
  console.error('usage: check-vsix.mjs FILE.vsix [--binary loopwise|--no-binary]');
  process.exit(2);
}

/** The entries of a zip's central directory: name, mode bits, and a reader for the content. */
function zipEntries(bytes) {
  const minimumEnd = 22;
  let end = bytes.length - minimumEnd;
  while (end >= 0 && bytes.readUInt32LE(end) !== 0x06054b50) {
    end -= 1;
  }
  if (end < 0) {
    throw new Error('not a zip file (no end of central directory)');
  }
  const count = bytes.readUInt16LE(end + 10);
  let offset = bytes.readUInt32LE(end + 16);
  const entries = [];
  for (let index = 0; index < count; index += 1) {
    if (bytes.readUInt32LE(offset) !== 0x02014b50) {
      throw new Error(`bad central directory entry at ${offset}`);
    }
    const madeBy = bytes.readUInt16LE(offset + 4) >> 8;
    const method = bytes.readUInt16LE(offset + 10);
    const compressedSize = bytes.readUInt32LE(offset + 20);
    const nameLength = bytes.readUInt16LE(offset + 28);
    const extraLength = bytes.readUInt16LE(offset + 30);
    const commentLength = bytes.readUInt16LE(offset + 32);
    const externalAttributes = bytes.readUInt32LE(offset + 38);
    const localHeader = bytes.readUInt32LE(offset + 42);
    const name = bytes.toString('utf8', offset + 46, offset + 46 + nameLength);
    const unixMode = madeBy === 3 ? externalAttributes >>> 16 : undefined;
    const read = () => {
      const dataStart =
        localHeader + 30 + bytes.readUInt16LE(localHeader + 26) + bytes.readUInt16LE(localHeader + 28);
      const data = bytes.subarray(dataStart, dataStart + compressedSize);
      return method === 8 ? zlib.inflateRawSync(data) : data;
    };
    entries.push({ name, unixMode, read });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

const file = positionals[0];
if (!fs.existsSync(file)) {
  console.error(`check-vsix: ${file} does not exist; build it with \`npm run package\``);
  process.exit(1);
}
const entries = zipEntries(fs.readFileSync(file));
const byName = new Map(entries.map((entry) => [entry.name, entry]));
const problems = [];

for (const required of ['extension.vsixmanifest', 'extension/package.json', 'extension/dist/extension.js']) {
  if (!byName.has(required)) {
    problems.push(`missing ${required}`);
  }
}
for (const { name } of entries) {
  if (name.includes('node_modules/')) {
    problems.push(`node_modules source packaged: ${name}`);
  }
  if (/\.tsx?$/.test(name) || /^extension\/(src|test|out|scripts)\//.test(name) || name.endsWith('tsconfig.json')) {
    problems.push(`source or test file packaged: ${name}`);
  }
}
const manifest = byName.get('extension/package.json');
if (manifest !== undefined) {
  const packaged = JSON.parse(manifest.read().toString('utf8'));
  if (packaged.main !== './dist/extension.js') {
    problems.push(`package.json main is ${packaged.main}, not ./dist/extension.js`);
  }
  if (!packaged.activationEvents?.includes('onLanguage:python')) {
    problems.push('package.json does not activate on onLanguage:python');
  }
}
const bundle = byName.get('extension/dist/extension.js');
if (bundle !== undefined && bundle.read().includes('require("vscode-languageclient')) {
  problems.push('dist/extension.js requires vscode-languageclient at run time instead of bundling it');
}
const binaries = entries.filter((entry) => entry.name.startsWith('extension/bin/'));
const vsixManifest = byName.get('extension.vsixmanifest')?.read().toString('utf8') ?? '';
if (args.binary !== undefined) {
  const binary = byName.get(`extension/bin/${args.binary}`);
  if (binary === undefined) {
    problems.push(`missing the bundled binary extension/bin/${args.binary}`);
  } else if (binary.unixMode !== undefined && (binary.unixMode & 0o111) === 0) {
    problems.push(`extension/bin/${args.binary} is not executable (mode ${binary.unixMode.toString(8)})`);
  }
  if (!/TargetPlatform="[a-z0-9-]+"/.test(vsixManifest)) {
    problems.push('a package with a binary must be platform-specific (no TargetPlatform in extension.vsixmanifest)');
  }
}
if (args['no-binary']) {
  binaries.forEach(({ name }) => problems.push(`a universal package must carry no binary: ${name}`));
  if (/TargetPlatform=/.test(vsixManifest)) {
    problems.push('a universal package must not name a TargetPlatform');
  }
}

console.log(`${file}: ${entries.length} entries`);
entries.forEach(({ name, unixMode }) => console.log(`  ${name}${unixMode ? ` (${unixMode.toString(8)})` : ''}`));
if (problems.length > 0) {
  problems.forEach((problem) => console.error(`check-vsix: ${problem}`));
  process.exit(1);
}
console.log('check-vsix: ok');
