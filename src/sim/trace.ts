// The JSON-lines trace of a simulation: one object per line for every message sent and
// delivered, tick, fault, state change, persisted write, applied entry and client operation. It is
// written only when asked for (a replay), so the hot path pays one null check when it is off.
//
// Every record carries `i` (the index of the scheduler event it happened in) and `t` (virtual
// microseconds), so a trace lines up with a violation report ("event 18342").

import { closeSync, openSync, writeSync } from 'node:fs';

export type TraceRecord = Record<string, string | number | boolean | null | readonly (string | number)[] | readonly (readonly number[])[]>;

export interface TraceSink {
  write(record: TraceRecord): void;
  close(): void;
}

// Buffered writes: a trace of a few simulated seconds is hundreds of thousands of lines, and a
// write(2) per line would dominate the replay.
const flushBytes = 1 << 20;

export class JsonlTraceWriter implements TraceSink {
  private readonly fd: number;
  private chunks: string[] = [];
  private pendingChars = 0;
  linesWritten = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  write(record: TraceRecord): void {
    const line = JSON.stringify(record) + '\n';
    this.chunks.push(line);
    this.pendingChars += line.length;
    this.linesWritten++;
    if (this.pendingChars >= flushBytes) this.flush();
  }

  flush(): void {
    if (this.chunks.length === 0) return;
    writeSync(this.fd, this.chunks.join(''));
    this.chunks = [];
    this.pendingChars = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

// MemoryTraceSink keeps records in memory (tests, and callers that post-process a trace).
export class MemoryTraceSink implements TraceSink {
  readonly records: TraceRecord[] = [];
  constructor(readonly recordsMax = 10_000_000) {}

  write(record: TraceRecord): void {
    if (this.records.length >= this.recordsMax) throw new RangeError(`trace: more than ${this.recordsMax} records`);
    this.records.push(record);
  }

  close(): void {}
}
