// "loopwise: Fix All": asks the server for the `source.fixAll.loopwise` code action of the
// active document and applies it (its edit, then its command if it has one).

import * as vscode from 'vscode';
import type { BaseLanguageClient } from 'vscode-languageclient';
import { CodeActionRequest, CodeActionResolveRequest } from 'vscode-languageserver-protocol';
import type * as proto from 'vscode-languageserver-protocol';

export const FIX_ALL_KIND = 'source.fixAll.loopwise';

type FixAllClient = Pick<
  BaseLanguageClient,
  'sendRequest' | 'code2ProtocolConverter' | 'protocol2CodeConverter' | 'initializeResult'
>;

function supportsResolve(client: FixAllClient): boolean {
  const provider = client.initializeResult?.capabilities.codeActionProvider;
  return typeof provider === 'object' && provider.resolveProvider === true;
}

/** Applies the server's fix-all action to `document`; returns whether anything was applied. */
export async function fixAll(client: FixAllClient, document: vscode.TextDocument): Promise<boolean> {
  const fullRange = new vscode.Range(0, 0, document.lineCount, 0);
  const params: proto.CodeActionParams = {
    textDocument: client.code2ProtocolConverter.asTextDocumentIdentifier(document),
    range: client.code2ProtocolConverter.asRange(fullRange),
    context: { diagnostics: [], only: [FIX_ALL_KIND], triggerKind: 1 /* Invoked */ },
  };
  const version = document.version;
  const answer = (await client.sendRequest(CodeActionRequest.type, params)) ?? [];
  const action = answer.find(
    (item): item is proto.CodeAction => 'kind' in item && item.kind !== undefined && isFixAll(item.kind),
  );
  if (action === undefined) {
    return false;
  }
  const resolved =
    action.edit === undefined && supportsResolve(client)
      ? await client.sendRequest(CodeActionResolveRequest.type, action)
      : action;
  if (document.version !== version) {
    // The user typed meanwhile: the edit was computed for older text.
    return false;
  }
  let applied = false;
  if (resolved.edit !== undefined) {
    const edit = await client.protocol2CodeConverter.asWorkspaceEdit(resolved.edit);
    applied = await vscode.workspace.applyEdit(edit);
  }
  if (resolved.command !== undefined) {
    await vscode.commands.executeCommand(resolved.command.command, ...(resolved.command.arguments ?? []));
    applied = true;
  }
  return applied;
}

function isFixAll(kind: string): boolean {
  return kind === FIX_ALL_KIND || kind.startsWith(`${FIX_ALL_KIND}.`);
}
