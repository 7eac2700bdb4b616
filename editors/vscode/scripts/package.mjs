// Builds the .vsix offline with vsce. With a binary in bin/ (see copy-binary.mjs, or pass
// --binary PATH to bundle one for this run only) the package is platform-specific
// (`vsce package --target`); without one it is universal and uses `loopwise` from PATH.
//
//   node scripts/package.mjs [--out FILE] [--binary PATH] [--target TARGET] [--universal]

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    binary: { type: 'string' },
    target: { type: 'string' },
    universal: { type: 'boolean', default: false },
  },
});

/** vsce's name for the machine this runs on (`--target` overrides it, e.g. alpine-x64). */
export function hostTarget() {
  const arch = { x64: 'x64', arm64: 'arm64', arm: 'armhf' }[process.arch];
  const platform = { linux: 'linux', darwin: 'darwin', win32: 'win32' }[process.platform];
  if (arch === undefined || platform === undefined) {
    throw new Error(`no vsce target for ${process.platform}-${process.arch}: pass --target`);
  }
  return `${platform}-${arch}`;
}

const binaryName = (args.target ?? hostTarget()).startsWith('win32') ? 'loopwise.exe' : 'loopwise';
const bundledPath = path.join(root, 'bin', binaryName);
let staged = false;
const cleanups = [];

try {
  if (args.binary !== undefined) {
    if (fs.existsSync(bundledPath)) {
      throw new Error(`${bundledPath} exists already; remove it or drop --binary`);
    }
    fs.mkdirSync(path.dirname(bundledPath), { recursive: true });
    fs.copyFileSync(args.binary, bundledPath);
    fs.chmodSync(bundledPath, 0o755);
    staged = true;
  }
  const bundled = !args.universal && fs.existsSync(bundledPath);
  const vsceArgs = ['package', '--no-dependencies', '--allow-missing-repository'];
  if (bundled) {
    vsceArgs.push('--target', args.target ?? hostTarget());
  } else if (fs.existsSync(path.join(root, 'bin'))) {
    // A universal package must not carry a binary that happens to sit in bin/.
    const ignoreFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'loopwise-vsce-')), '.vscodeignore');
    fs.writeFileSync(ignoreFile, `${fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8')}\nbin/**\n`);
    cleanups.push(() => fs.rmSync(path.dirname(ignoreFile), { recursive: true, force: true }));
    vsceArgs.push('--ignoreFile', ignoreFile);
  }
  if (args.out !== undefined) {
    vsceArgs.push('--out', path.resolve(args.out));
  }
  const vsce = path.join(path.dirname(createRequire(import.meta.url).resolve('@vscode/vsce/package.json')), 'vsce');
  console.log(`packaging ${bundled ? `with ${path.relative(root, bundledPath)}` : 'without a binary (universal)'}`);
  const run = spawnSync(process.execPath, [vsce, ...vsceArgs], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) {
    throw new Error(`vsce ${vsceArgs.join(' ')} failed (${run.status ?? run.signal})`);
  }
} catch (error) {
  console.error(`package: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
} finally {
  if (staged) {
    fs.rmSync(bundledPath, { force: true });
    if (fs.readdirSync(path.dirname(bundledPath)).length === 0) {
      fs.rmdirSync(path.dirname(bundledPath));
    }
  }
  cleanups.forEach((cleanup) => cleanup());
}
