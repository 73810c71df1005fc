// Checks of option values that do not depend on the rule being built: list,action pairs,
// unsigned control values and keys. Same rules as auditctl's setopt() (src/auditctl.c).
import { quote } from './errors.js';
import { AUDIT_MAX_KEY_LEN, type ActionName, type ListName } from './kernel.js';

export type Fail = (reason: string, token?: string) => never;

const LISTS: readonly ListName[] = ['exit', 'task', 'user', 'exclude', 'filesystem', 'io_uring'];

export interface ListAction {
  list: ListName | undefined;
  action: ActionName | undefined;
}

export function setListAction(b: ListAction, text: string, fail: Fail, token: string): void {
  const parts = text.split(',');
  if (parts.length !== 2) fail(`${quote(text)} must be list,action (for example always,exit)`, token);
  for (const part of parts) {
    if (part === 'always' || part === 'never') {
      if (b.action !== undefined) fail(`${quote(text)} names two actions`, token);
      b.action = part;
    } else if ((LISTS as readonly string[]).includes(part)) {
      if (b.list !== undefined) fail(`${quote(text)} names two lists`, token);
      b.list = part as ListName;
    } else if (part === 'possible') {
      fail('the action "possible" is deprecated and refused by the kernel', token);
    } else if (part === 'entry') {
      fail('the entry list is deprecated: use exit', token);
    } else {
      fail(`unknown list or action ${quote(part)}`, token);
    }
  }
  if (b.list === undefined || b.action === undefined) fail(`${quote(text)} must name a list and an action`, token);
}

export function checkKeyLength(key: string, fail: Fail, token: string): void {
  if (Buffer.byteLength(key) > AUDIT_MAX_KEY_LEN) fail(`key is longer than ${AUDIT_MAX_KEY_LEN} bytes (AUDIT_MAX_KEY_LEN)`, token);
}

// auditctl checks keys that start with "ids-" against the audit IDS plugin's format:
// ids-<sys|file|exec|mkexe>-<inf|low|med|hi...>.
export function checkIdsKey(key: string, fail: Fail, token: string): void {
  if (!key.startsWith('ids-')) return;
  const [, kind, severity] = /^ids-([^-]*)-(.*)$/.exec(key) ?? [];
  if (!kind || !severity) fail(`ids key ${quote(key)} must look like ids-<type>-<severity>`, token);
  if (!['sys', 'file', 'exec', 'mkexe'].includes(kind as string)) fail(`ids key type ${quote(kind as string)} is not sys, file, exec or mkexe`, token);
  if (!/^(inf|low|med|hi)/.test(severity as string)) fail(`ids key severity ${quote(severity as string)} is not info, low, med or hi`, token);
}

export function unsigned(text: string, what: string, fail: Fail, token: string): number {
  if (!/^[0-9]/.test(text)) fail(`${what} must be a number, not ${quote(text)}`, token);
  const match = /^(0x[0-9a-f]+|[0-9]+)$/i.exec(text);
  const value = match ? Number(text) : NaN;
  if (!(value >= 0 && value <= 0xffffffff)) fail(`${what} ${quote(text)} is not a 32-bit unsigned number`, token);
  return value;
}
