// What a Redis failure means for the daemon: a person must fix it (wrong password, missing ACL
// permission, a TLS certificate not accepted, a bad URL), or it may pass (Redis down, slow, restarting).
// The first kind stops a start with a clear message; the second makes the sink spool.

/** The Redis configuration itself is wrong: a bad URL, an unreadable TLS file, a db number in Cluster. */
export class RedisConfigError extends Error {
  override name = 'RedisConfigError';
}

export type RedisRefusal = 'auth' | 'permission' | 'tls';

/** Redis answered, and refused: credentials, ACL permissions, or the TLS handshake. Retrying does not help. */
export class RedisRefusedError extends Error {
  override name = 'RedisRefusedError';
  constructor(
    readonly refusal: RedisRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** Redis did not answer where an answer was required (`tail`, the daemon with `redis_required`). */
export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

// Redis's own error prefixes (server.c, acl.c): WRONGPASS for a bad user/password pair, NOAUTH when a
// password is needed and none was given, NOPERM for a command or key the ACL user may not use.
const AUTH_REPLY = /^(WRONGPASS|NOAUTH)\b/;
const PERMISSION_REPLY = /^NOPERM\b/;

// Node's TLS verification errors (the OpenSSL X509_V_ERR_* names, tls.TLSSocket#authorizationError),
// its own ERR_TLS_* codes (a name that does not match the certificate), and OpenSSL's ERR_SSL_* (a
// handshake the server broke off, e.g. a client certificate it did not accept).
const TLS_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
]);

/** Whether `error` is Redis (or its TLS layer) refusing us, rather than Redis being away. */
export function classifyRefusal(error: unknown): RedisRefusal | undefined {
  if (!(error instanceof Error)) return undefined;
  if (AUTH_REPLY.test(error.message)) return 'auth';
  if (PERMISSION_REPLY.test(error.message)) return 'permission';
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && (TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_'))) return 'tls';
  return undefined;
}

const ADVICE: Record<RedisRefusal, string> = {
  auth: 'check the user and password in the Redis URL',
  permission: 'give the ACL user the commands and keys listed in docs/sink.md ("Redis ACL")',
  tls: 'check the CA file (redis_tls_ca), the server name, and the client certificate and key',
};

/** The refusal as one line a person can act on. `where` names the server, its password redacted. */
export function refusedError(refusal: RedisRefusal, cause: Error, where: string): RedisRefusedError {
  const what = refusal === 'tls' ? 'the TLS handshake failed' : 'Redis refused';
  const code = (cause as NodeJS.ErrnoException).code;
  const detail = code !== undefined && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message;
  return new RedisRefusedError(refusal, `${what} (${where}): ${detail}; ${ADVICE[refusal]}`);
}

/** A Redis URL with its password replaced, for messages and logs: credentials never reach a log. */
export function redactRedisUrl(text: string): string {
  // Everything between the scheme's // (or the start) and the last @ is user information; only the
  // user name before its first colon is kept (without a colon the one part may be a password:
  // `redis://secret@host`). Works on malformed URLs too, which error messages quote.
  const at = text.lastIndexOf('@');
  if (at === -1) return text;
  const slashes = text.indexOf('//');
  const start = slashes === -1 || slashes > at ? 0 : slashes + 2;
  const userinfo = text.slice(start, at);
  const colon = userinfo.indexOf(':');
  const user = colon === -1 ? '' : userinfo.slice(0, colon);
  return `${text.slice(0, start)}${user === '' ? '' : `${user}:`}***@${text.slice(at + 1)}`;
}
