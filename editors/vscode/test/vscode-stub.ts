// A stand-in for the `vscode` module, which exists only inside VS Code. Importing this file
// first makes `require('vscode')` return it. Configuration behaves like VS Code's: defaults come
// from this extension's package.json, and a setting declared without one gets its type's empty
// value (`[]`, `{}`, `''`, `0`), which is why the extension asks `inspect` what the user set.

import Module = require('node:module');
import * as path from 'node:path';
import type { WorkspaceConfiguration } from 'vscode';

interface Property {
  type: string | string[];
  default?: unknown;
}

const manifest = require(path.join(__dirname, '..', '..', 'package.json')) as {
  contributes: { configuration: { properties: Record<string, Property> } };
};

export const properties = manifest.contributes.configuration.properties;

function typeDefault(type: string | string[]): unknown {
  switch (Array.isArray(type) ? type[0] : type) {
    case 'boolean':
      return false;
    case 'integer':
    case 'number':
      return 0;
    case 'string':
      return '';
    case 'array':
      return [];
    case 'object':
      return {};
    default:
      return null;
  }
}

type Scope = 'globalValue' | 'workspaceValue' | 'workspaceFolderValue' | 'globalLanguageValue';

/** Values the "user" set, by scope, keyed by the full setting name (`loopwise.select`). */
export const userSettings: Record<Scope, Map<string, unknown>> = {
  globalValue: new Map(),
  workspaceValue: new Map(),
  workspaceFolderValue: new Map(),
  globalLanguageValue: new Map(),
};

export function resetSettings(): void {
  for (const values of Object.values(userSettings)) {
    values.clear();
  }
}

/** Sets user settings from a settings.json-like object (full names). */
export function setUserSettings(settings: Record<string, unknown>, scope: Scope = 'globalValue'): void {
  for (const [key, value] of Object.entries(settings)) {
    userSettings[scope].set(key, value);
  }
}

function inspect(full: string) {
  const property = properties[full];
  if (property === undefined) {
    return undefined;
  }
  return {
    key: full,
    defaultValue: 'default' in property ? property.default : typeDefault(property.type),
    globalValue: userSettings.globalValue.get(full),
    workspaceValue: userSettings.workspaceValue.get(full),
    workspaceFolderValue: userSettings.workspaceFolderValue.get(full),
    globalLanguageValue: userSettings.globalLanguageValue.get(full),
  };
}

function get(full: string) {
  const inspected = inspect(full);
  if (inspected === undefined) {
    return undefined;
  }
  // Most specific first, as VS Code resolves them.
  return (
    inspected.globalLanguageValue ??
    inspected.workspaceFolderValue ??
    inspected.workspaceValue ??
    inspected.globalValue ??
    inspected.defaultValue
  );
}

export class Range {
  constructor(
    readonly startLine: number,
    readonly startCharacter: number,
    readonly endLine: number,
    readonly endCharacter: number,
  ) {}
}

/** Calls the extension made, for assertions. */
export const calls = {
  appliedEdits: [] as unknown[],
  executedCommands: [] as { command: string; args: unknown[] }[],
  registeredCommands: [] as string[],
  errorMessages: [] as string[],
  outputLines: [] as string[],
};

const disposable = { dispose() {} };

/** Any class or namespace the stub does not define: constructible, every property another one. */
function anything(): unknown {
  return new Proxy(class {}, {
    get: (target, property) => (property in target ? Reflect.get(target, property) : anything()),
  });
}

const definedStub = {
  Range,
  workspace: {
    workspaceFolders: undefined,
    getConfiguration(section: string): Pick<WorkspaceConfiguration, 'get' | 'inspect' | 'has'> {
      const full = (key: string) => `${section}.${key}`;
      const configuration = {
        get: <T>(key: string, fallback?: T) => (get(full(key)) as T | undefined) ?? fallback,
        inspect: (key: string) => inspect(full(key)),
        has: (key: string) => properties[full(key)] !== undefined,
      };
      return configuration as Pick<WorkspaceConfiguration, 'get' | 'inspect' | 'has'>;
    },
    async applyEdit(edit: unknown) {
      calls.appliedEdits.push(edit);
      return true;
    },
    onDidChangeConfiguration: () => disposable,
    onDidGrantWorkspaceTrust: () => disposable,
  },
  window: {
    createOutputChannel: () => ({
      appendLine: (line: string) => calls.outputLines.push(line),
      append: (text: string) => calls.outputLines.push(text),
      show() {},
      dispose() {},
    }),
    async showErrorMessage(message: string) {
      calls.errorMessages.push(message);
      return undefined;
    },
    async showInformationMessage() {
      return undefined;
    },
  },
  commands: {
    registerCommand(command: string) {
      calls.registeredCommands.push(command);
      return disposable;
    },
    async executeCommand(command: string, ...args: unknown[]) {
      calls.executedCommands.push({ command, args });
      return undefined;
    },
  },
};

/** The stub: what the extension's own code uses is defined above; the rest (classes that
 * vscode-languageclient extends when it loads) is `anything()`. */
export const vscodeStub = new Proxy(definedStub, {
  get: (target, property) => (property in target ? Reflect.get(target, property) : anything()),
}) as typeof definedStub;

const moduleWithResolve = Module as unknown as {
  _resolveFilename: (request: string, ...rest: unknown[]) => string;
};
const resolveFilename = moduleWithResolve._resolveFilename;
moduleWithResolve._resolveFilename = function (request: string, ...rest: unknown[]) {
  return request === 'vscode' ? 'vscode' : resolveFilename.call(this, request, ...rest);
};
require.cache['vscode'] = { id: 'vscode', filename: 'vscode', loaded: true, exports: vscodeStub } as NodeJS.Module;
