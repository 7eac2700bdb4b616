// The loopwise extension: runs `loopwise server` for Python files through vscode-languageclient.

import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';

import { BinaryNotFound, findBinary } from './binary';
import { fixAll } from './fixAll';
import { changesServerOptions, needsRestart, serverOptions } from './settings';

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;

function log(message: string): void {
  output?.appendLine(`[extension] ${message}`);
}

function configuration(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('loopwise');
}

async function startServer(context: vscode.ExtensionContext): Promise<void> {
  const channel = output ?? vscode.window.createOutputChannel('loopwise');
  output = channel;
  let binary;
  try {
    binary = findBinary({
      configuredPath: configuration().get<string>('path') ?? '',
      extensionPath: context.extensionPath,
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      env: process.env,
      platform: process.platform,
    });
  } catch (error) {
    if (!(error instanceof BinaryNotFound)) {
      throw error;
    }
    log(error.message);
    const choice = await vscode.window.showErrorMessage(error.message, 'Open Settings', 'Show Log');
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'loopwise.path');
    } else if (choice === 'Show Log') {
      channel.show();
    }
    return;
  }
  log(`starting ${binary.path} server (found through ${binary.source})`);
  const server: ServerOptions = { command: binary.path, args: ['server'], transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { language: 'python', scheme: 'file' },
      { language: 'python', scheme: 'untitled' },
      // Python cells of any notebook: the server analyses a notebook's cells as one module.
      { notebook: '*', language: 'python' },
    ],
    diagnosticCollectionName: 'loopwise',
    outputChannel: channel,
    traceOutputChannel: channel,
    initializationOptions: serverOptions(configuration()),
  };
  // The id `loopwise` makes the client read the `loopwise.trace.server` setting.
  const started = new LanguageClient('loopwise', 'loopwise', server, clientOptions);
  client = started;
  try {
    await started.start();
  } catch (error) {
    const message = `loopwise: the server (${binary.path}) did not start: ${String(error)}`;
    log(message);
    void vscode.window.showErrorMessage(message, 'Show Log').then((choice) => choice && channel.show());
  }
}

async function stopServer(): Promise<void> {
  const running = client;
  client = undefined;
  if (running === undefined) {
    return;
  }
  try {
    await running.dispose(2000);
  } catch (error) {
    log(`stopping the server: ${String(error)}`);
  }
}

async function restartServer(context: vscode.ExtensionContext): Promise<void> {
  await stopServer();
  await startServer(context);
}

async function onConfigurationChanged(context: vscode.ExtensionContext, event: vscode.ConfigurationChangeEvent) {
  const affects = (section: string) => event.affectsConfiguration(section);
  if (needsRestart(affects)) {
    await restartServer(context);
  } else if (client?.isRunning() && changesServerOptions(affects)) {
    await client.sendNotification(DidChangeConfigurationNotification.type, { settings: serverOptions(configuration()) });
  }
}

async function runFixAll(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined || editor.document.languageId !== 'python') {
    void vscode.window.showInformationMessage('loopwise: open a Python file to fix.');
    return;
  }
  if (!client?.isRunning()) {
    void vscode.window.showErrorMessage('loopwise: the server is not running; see "loopwise: Show Server Log".');
    return;
  }
  if (client.initializeResult?.capabilities.codeActionProvider === undefined) {
    void vscode.window.showInformationMessage(
      'loopwise: this loopwise server offers no fixes (code actions); install a newer loopwise.',
    );
    return;
  }
  try {
    if (!(await fixAll(client, editor.document))) {
      void vscode.window.setStatusBarMessage('loopwise: nothing to fix', 3000);
    }
  } catch (error) {
    log(`fix all: ${String(error)}`);
    void vscode.window.showErrorMessage(`loopwise: fix all failed: ${String(error)}`);
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('loopwise');
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('loopwise.restartServer', () => restartServer(context)),
    vscode.commands.registerCommand('loopwise.fixAll', runFixAll),
    vscode.commands.registerCommand('loopwise.showOutput', () => output?.show()),
    vscode.workspace.onDidChangeConfiguration((event) => onConfigurationChanged(context, event)),
    // `loopwise.path` is read from workspace settings only once the workspace is trusted.
    vscode.workspace.onDidGrantWorkspaceTrust(() => restartServer(context)),
  );
  await startServer(context);
}

export async function deactivate(): Promise<void> {
  await stopServer();
}
