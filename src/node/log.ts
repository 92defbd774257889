// Structured logs of a node: one JSON object per line in <dataDir>/node-<id>.log,
//   {"ts":"2025-01-01T00:00:00.000Z","level":"info","node":2,"msg":"became leader","term":3}
// so that a run's logs can be merged by time and filtered with jq.
//
// Lines are buffered and written once per event-loop turn (a burst of events costs one write),
// and synchronously on close and on fatal errors so that the reason a node died is on disk. A
// node logs events (state changes, faults, errors), never per message; a flood of one kind is
// rate-limited by the caller (see `limited`).

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { LogLevel, type Logger, RaftInvariantError } from '../core/logger.js';

export type NodeLogLevel = 'debug' | 'info' | 'warn' | 'error';
const levelRank: Readonly<Record<NodeLogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

export type LogFields = Readonly<Record<string, unknown>>;

// Buffered bytes above which a turn's lines are written at once rather than at its end.
const bufferBytesMax = 64 * 1024;

export class NodeLog {
  private fd: number | null;
  private buf: string[] = [];
  private bufBytes = 0;
  private flushScheduled = false;
  private readonly counts = new Map<string, number>();
  // Also echo to stderr (interactive `frb node` without a cluster manager).
  echo = false;

  constructor(
    readonly file: string | null,
    readonly nodeId: number,
    readonly level: NodeLogLevel = 'info',
  ) {
    if (file !== null) {
      mkdirSync(path.dirname(file), { recursive: true });
      this.fd = openSync(file, 'a', 0o644);
    } else {
      this.fd = null;
    }
  }

  enabled(level: NodeLogLevel): boolean {
    return levelRank[level] >= levelRank[this.level];
  }

  log(level: NodeLogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const line = `${JSON.stringify({ ts: new Date().toISOString(), level, node: this.nodeId, msg, ...(fields ?? {}) }, jsonSafe)}\n`;
    if (this.echo) process.stderr.write(line);
    if (this.fd === null) return;
    this.buf.push(line);
    this.bufBytes += line.length;
    if (this.bufBytes >= bufferBytesMax || level === 'error') {
      this.flush();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  // limited logs the 1st, 2nd, 4th, 8th... occurrence of a kind of event (a flood of bad frames
  // costs a few lines, not one per frame), with the count so far.
  limited(kind: string, level: NodeLogLevel, msg: string, fields?: LogFields): void {
    const n = (this.counts.get(kind) ?? 0) + 1;
    if (this.counts.size < 4096 || this.counts.has(kind)) this.counts.set(kind, n);
    if ((n & (n - 1)) === 0) this.log(level, msg, { ...(fields ?? {}), ...(n > 1 ? { occurrences: n } : {}) });
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.fd === null || this.buf.length === 0) return;
    const text = this.buf.join('');
    this.buf = [];
    this.bufBytes = 0;
    try {
      writeSync(this.fd, text);
    } catch {
      // A full or vanished disk must not take the node down with it; the log is best effort.
    }
  }

  close(): void {
    this.flush();
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = null;
    }
  }

  // coreLogger adapts the core's Logger to these lines (the core logs elections and refusals at
  // info; debug is off unless the node log is at debug).
  coreLogger(): Logger {
    const self = this;
    const minLevel = this.level === 'debug' ? LogLevel.Debug : this.level === 'info' ? LogLevel.Info : this.level === 'warn' ? LogLevel.Warning : LogLevel.Error;
    return {
      enabled: (level: LogLevel) => level >= minLevel,
      debug: (msg: string) => self.log('debug', msg, { src: 'raft' }),
      info: (msg: string) => self.log('info', msg, { src: 'raft' }),
      warning: (msg: string) => self.log('warn', msg, { src: 'raft' }),
      error: (msg: string) => self.log('error', msg, { src: 'raft' }),
      fatal(msg: string): never {
        self.log('error', msg, { src: 'raft', fatal: true });
        self.flush();
        throw new RaftInvariantError(msg);
      },
      panic(msg: string): never {
        self.log('error', msg, { src: 'raft', panic: true });
        self.flush();
        throw new RaftInvariantError(msg);
      },
    };
  }
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (typeof value === 'bigint') return value.toString();
  return value;
}
