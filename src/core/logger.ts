// The core's logger. Silent by default; callers that build expensive messages check
// `enabled(level)` first so that a disabled logger costs one branch.

export const enum LogLevel {
  Debug = 0,
  Info = 1,
  Warning = 2,
  Error = 3,
  Fatal = 4,
  None = 5,
}

export const logLevelNames: readonly string[] = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'NONE'];

export interface Logger {
  enabled(level: LogLevel): boolean;
  debug(msg: string): void;
  info(msg: string): void;
  warning(msg: string): void;
  error(msg: string): void;
  // fatal and panic report a broken invariant: they log and throw, they never return.
  fatal(msg: string): never;
  panic(msg: string): never;
}

export class RaftInvariantError extends Error {
  override name = 'RaftInvariantError';
}

// LevelLogger writes lines at or above its level through a sink (stderr, a test buffer, a file).
export class LevelLogger implements Logger {
  constructor(
    public level: LogLevel,
    private readonly sink: (level: LogLevel, msg: string) => void,
  ) {}
  enabled(level: LogLevel): boolean {
    return level >= this.level;
  }
  debug(msg: string): void {
    if (this.level <= LogLevel.Debug) this.sink(LogLevel.Debug, msg);
  }
  info(msg: string): void {
    if (this.level <= LogLevel.Info) this.sink(LogLevel.Info, msg);
  }
  warning(msg: string): void {
    if (this.level <= LogLevel.Warning) this.sink(LogLevel.Warning, msg);
  }
  error(msg: string): void {
    if (this.level <= LogLevel.Error) this.sink(LogLevel.Error, msg);
  }
  fatal(msg: string): never {
    if (this.level <= LogLevel.Fatal) this.sink(LogLevel.Fatal, msg);
    throw new RaftInvariantError(msg);
  }
  panic(msg: string): never {
    if (this.level <= LogLevel.Fatal) this.sink(LogLevel.Fatal, msg);
    throw new RaftInvariantError(msg);
  }
}

class SilentLogger implements Logger {
  enabled(): boolean {
    return false;
  }
  debug(): void {}
  info(): void {}
  warning(): void {}
  error(): void {}
  fatal(msg: string): never {
    throw new RaftInvariantError(msg);
  }
  panic(msg: string): never {
    throw new RaftInvariantError(msg);
  }
}

export const silentLogger: Logger = new SilentLogger();
