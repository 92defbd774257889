// The interaction tests' output buffer, which is also every node's Logger: a port of rafttest's
// RedirectLogger. Log lines land in the transcript as "LEVEL message", interleaved with what the
// handlers print, so a transcript shows what the core said and when.

import type { Logger } from '../../src/core/logger.js';
import { LogLevel, RaftInvariantError, logLevelNames } from '../../src/core/logger.js';

export class RedirectLogger implements Logger {
  // The buffer is swapped out by InteractionEnv.withIndent to indent nested output.
  buf: string[] = [];
  // 0 = DEBUG ... 4 = FATAL, 5 = NONE (silences everything, handler output included).
  lvl: LogLevel = LogLevel.Debug;

  quiet(): boolean {
    return this.lvl === LogLevel.None;
  }

  // writeString appends handler output unless the level is NONE (rafttest overrides the
  // strings.Builder write methods the same way).
  writeString(s: string): void {
    if (this.quiet()) return;
    this.buf.push(s);
  }

  reset(): void {
    this.buf = [];
  }

  len(): number {
    let n = 0;
    for (const s of this.buf) n += s.length;
    return n;
  }

  toString(): string {
    return this.buf.join('');
  }

  private printf(lvl: LogLevel, msg: string): void {
    if (this.lvl > lvl) return;
    this.writeString(logLevelNames[lvl]! + ' ');
    this.writeString(msg);
    // Go's printf adds the newline only when the format lacks one.
    if (msg.length > 0 && !msg.endsWith('\n')) this.writeString('\n');
  }

  enabled(level: LogLevel): boolean {
    return this.lvl <= level;
  }
  debug(msg: string): void {
    this.printf(LogLevel.Debug, msg);
  }
  info(msg: string): void {
    this.printf(LogLevel.Info, msg);
  }
  warning(msg: string): void {
    this.printf(LogLevel.Warning, msg);
  }
  error(msg: string): void {
    this.printf(LogLevel.Error, msg);
  }
  fatal(msg: string): never {
    this.printf(LogLevel.Fatal, msg);
    throw new RaftInvariantError(msg);
  }
  panic(msg: string): never {
    this.printf(LogLevel.Fatal, msg);
    throw new RaftInvariantError(msg);
  }
}

// parseLogLevel matches a level name case-insensitively, as rafttest's LogLevel does.
export function parseLogLevel(name: string): LogLevel | undefined {
  const i = logLevelNames.findIndex((s) => s.toLowerCase() === name.toLowerCase());
  return i < 0 ? undefined : (i as LogLevel);
}
