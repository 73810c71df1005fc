// Socket kinds: the socket types and protocols a flow names, and the shapes the socket
// table and the /proc resolver share.

export interface Endpoint {
  addr: string;
  port: number;
  /** Raw address bytes (4 or 16), for the Community ID. */
  bytes: Buffer;
}

export interface SocketInfo {
  family: number;
  /** SOCK_STREAM, SOCK_DGRAM, ... with the flag bits removed. */
  type: number;
  /** The IP protocol in effect: socket()'s protocol, or the one its type selects when 0. */
  protocol: number;
  local: Endpoint | undefined;
  /** The connected peer: from the socket's connect, or from /proc. */
  remote: Endpoint | undefined;
  source: 'socket' | 'proc';
  /**
   * When `local` (and a `remote` not taken from a record) was read from the socket itself, µs since
   * the epoch: the fd may have named a later socket by then (./local-check.ts). Undefined for ends
   * the records gave (bind's and connect's addresses) and for /proc's answers.
   */
  readAtUs?: number;
}

/** What the events already say about a socket: the resolver looks where such a socket is listed. */
export type SocketHint = Pick<SocketInfo, 'family' | 'type' | 'protocol'>;

/**
 * Finds a socket through /proc; the live daemon passes procSocketResolver, replay nothing. `eventMs` is
 * the time of the event that names (pid, fd): a process at `pid` that started after it is another
 * one (pid reuse), whose sockets are no answer.
 */
export type SocketResolver = (pid: number, fd: number, hint?: SocketHint, eventMs?: number) => SocketInfo | undefined;

