// The `loopwise.*` settings the server reads, and how they become its initializationOptions.
//
// The server rejects unknown keys and nulls, so only the configuration keys go, and only those
// the user set: an unset setting must leave the project's configuration file in charge.

import type { WorkspaceConfiguration } from 'vscode';

/** VS Code setting (under `loopwise.`) -> the server's configuration key. */
export const SERVER_SETTINGS: ReadonlyArray<readonly [setting: string, key: string]> = [
  ['targetVersion', 'target-version'],
  ['select', 'select'],
  ['extendSelect', 'extend-select'],
  ['ignore', 'ignore'],
  ['perFileIgnores', 'per-file-ignores'],
  ['exclude', 'exclude'],
  ['extendExclude', 'extend-exclude'],
  ['defaultTimeout', 'default-timeout'],
  ['blockingCalls', 'blocking-calls'],
  ['severity', 'severity'],
  ['testPaths', 'test-paths'],
  ['testIgnore', 'test-ignore'],
  ['maxFileSize', 'max-file-size'],
  // The server's own settings, not configuration keys: off (the server's default) unless set.
  ['showSyntaxErrors', 'show-syntax-errors'],
  ['indexLimit', 'index-limit'],
];

/** Settings of the extension itself, never sent to the server. */
export const CLIENT_SETTINGS: ReadonlyArray<string> = ['path', 'trace.server'];

export type ServerOptions = Record<string, unknown>;

type Inspected = ReturnType<WorkspaceConfiguration['inspect']>;

/** Whether the user set a value anywhere (user, workspace, folder, or for a language). */
function isSet(inspected: Inspected): boolean {
  if (inspected === undefined) {
    return false;
  }
  const values = [
    inspected.globalValue,
    inspected.workspaceValue,
    inspected.workspaceFolderValue,
    inspected.globalLanguageValue,
    inspected.workspaceLanguageValue,
    inspected.workspaceFolderLanguageValue,
  ];
  return values.some((value) => value !== undefined && value !== null);
}

/** The initializationOptions (and didChangeConfiguration settings) for the `loopwise` section. */
export function serverOptions(config: Pick<WorkspaceConfiguration, 'get' | 'inspect'>): ServerOptions {
  const options: ServerOptions = {};
  for (const [setting, key] of SERVER_SETTINGS) {
    if (!isSet(config.inspect(setting))) {
      continue;
    }
    const value = config.get<unknown>(setting);
    if (value === undefined || value === null) {
      continue;
    }
    if (typeof value === 'string' && value.trim() === '') {
      continue;
    }
    options[key] = value;
  }
  return options;
}

/** Whether a configuration change needs a new server process rather than new settings. */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return affects('loopwise.path');
}

/** Whether a configuration change touches a setting the server reads. */
export function changesServerOptions(affects: (section: string) => boolean): boolean {
  return SERVER_SETTINGS.some(([setting]) => affects(`loopwise.${setting}`));
}
