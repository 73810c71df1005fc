// The rule compiler's errors. One base class so callers can catch them all;
// RuleSyntaxError for text that auditctl would refuse (it knows file, line and token),
// RuleDecodeError for kernel bytes that do not form a valid audit_rule_data.

export interface SourcePosition {
  readonly file: string;
  readonly line: number;
}

export class RuleError extends Error {
  override name = 'RuleError';
}

export class RuleSyntaxError extends RuleError {
  override name = 'RuleSyntaxError';
  readonly file: string;
  readonly line: number;
  readonly token: string | undefined;
  readonly reason: string;

  constructor(reason: string, position: SourcePosition, token?: string) {
    super(`${position.file}:${position.line}: ${reason}`);
    this.reason = reason;
    this.file = position.file;
    this.line = position.line;
    this.token = token;
  }
}

export class RuleDecodeError extends RuleError {
  override name = 'RuleDecodeError';
}

// Quote a token the way messages show it: "conect".
export function quote(token: string): string {
  return JSON.stringify(token);
}
