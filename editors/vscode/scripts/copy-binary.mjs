// Copies a release build of loopwise into bin/, so `npm run package` bundles it.
//
//   node scripts/copy-binary.mjs [PATH]
//
// PATH defaults to release/loopwise[.exe] in cargo's target folder: $CARGO_TARGET_DIR when set
// (a relative one, as cargo reads it, from the folder the command was started in: npm's
// INIT_CWD), else target/ of this repository.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const name = process.platform === 'win32' ? 'loopwise.exe' : 'loopwise';
const targetDir = process.env.CARGO_TARGET_DIR
  ? path.resolve(process.env.INIT_CWD ?? process.cwd(), process.env.CARGO_TARGET_DIR)
  : path.join(root, '..', '..', 'target');
const source = process.argv[2] ?? path.join(targetDir, 'release', name);
if (!fs.existsSync(source)) {
  console.error(`copy-binary: ${source} does not exist; build it with \`cargo build --release\` first`);
  process.exit(1);
}
const destination = path.join(root, 'bin', name);
fs.mkdirSync(path.dirname(destination), { recursive: true });
fs.copyFileSync(source, destination);
fs.chmodSync(destination, 0o755);
console.log(`copied ${source} to ${path.relative(root, destination)}`);
