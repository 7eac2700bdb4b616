// Which `loopwise` binary to run: the `loopwise.path` setting, else the binary bundled in the
// extension's `bin/`, else `loopwise` on PATH.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export type BinarySource = 'setting' | 'bundled' | 'PATH';

export interface Binary {
  path: string;
  source: BinarySource;
}

export interface DiscoveryContext {
  /** The `loopwise.path` setting; empty when unset. */
  configuredPath: string;
  /** The extension's install folder (holds `bin/` in a platform-specific package). */
  extensionPath: string;
  /** The first workspace folder, for a relative `loopwise.path` and `${workspaceFolder}`. */
  workspaceFolder?: string;
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
}

/** Discovery failed; the message says what to do, for an error notification. */
export class BinaryNotFound extends Error {}

export function executableName(platform: NodeJS.Platform): string {
  return platform === 'win32' ? 'loopwise.exe' : 'loopwise';
}

export function bundledBinary(extensionPath: string, platform: NodeJS.Platform): string {
  return path.join(extensionPath, 'bin', executableName(platform));
}

function isExecutable(file: string, platform: NodeJS.Platform): boolean {
  try {
    if (!fs.statSync(file).isFile()) {
      return false;
    }
    fs.accessSync(file, platform === 'win32' ? fs.constants.F_OK : fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `~`, `${userHome}` and `${workspaceFolder}` expanded; relative to the workspace folder. */
export function expandConfiguredPath(configured: string, context: DiscoveryContext): string {
  const home = context.env.HOME ?? context.env.USERPROFILE ?? os.homedir();
  let expanded = configured.trim().replace(/\$\{userHome\}/g, home);
  if (context.workspaceFolder !== undefined) {
    expanded = expanded.replace(/\$\{workspaceFolder\}/g, context.workspaceFolder);
  }
  if (expanded === '~' || expanded.startsWith('~/') || expanded.startsWith('~\\')) {
    expanded = path.join(home, expanded.slice(1));
  }
  if (!path.isAbsolute(expanded) && context.workspaceFolder !== undefined) {
    expanded = path.join(context.workspaceFolder, expanded);
  }
  return expanded;
}

/** The first executable `loopwise` on PATH (with PATHEXT on Windows). */
export function searchPath(context: Pick<DiscoveryContext, 'env' | 'platform'>): string | undefined {
  const pathVariable = context.env.PATH ?? context.env.Path ?? '';
  const separator = context.platform === 'win32' ? ';' : ':';
  const extensions =
    context.platform === 'win32' ? (context.env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';').filter(Boolean) : [''];
  for (const folder of pathVariable.split(separator)) {
    if (folder === '') {
      continue;
    }
    for (const extension of extensions) {
      const candidate = path.join(folder, `loopwise${extension.toLowerCase()}`);
      if (isExecutable(candidate, context.platform)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** The binary to run, or a BinaryNotFound whose message tells the user what to do. */
export function findBinary(context: DiscoveryContext): Binary {
  if (context.configuredPath.trim() !== '') {
    const configured = expandConfiguredPath(context.configuredPath, context);
    if (isExecutable(configured, context.platform)) {
      return { path: configured, source: 'setting' };
    }
    throw new BinaryNotFound(
      `loopwise: the \`loopwise.path\` setting names ${configured}, which is not an executable file. ` +
        'Fix the setting, or clear it to use the bundled binary or `loopwise` from PATH.',
    );
  }
  const bundled = bundledBinary(context.extensionPath, context.platform);
  if (isExecutable(bundled, context.platform)) {
    return { path: bundled, source: 'bundled' };
  }
  const onPath = searchPath(context);
  if (onPath !== undefined) {
    return { path: onPath, source: 'PATH' };
  }
  throw new BinaryNotFound(
    'loopwise: no `loopwise` binary found: this extension has none bundled and there is none on PATH. ' +
      'Install it (`cargo install --path . --locked`, or `pip install .`, in a loopwise checkout) so that `loopwise` is on PATH, ' +
      'or set `loopwise.path` to the binary, then run "loopwise: Restart Server".',
  );
}
