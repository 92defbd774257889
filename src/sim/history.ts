// A history of client operations as the clients saw them: when each was invoked, when (and with
// what answer) it completed, or that it never completed. The linearizability checker judges
// exactly this record, so it keeps what a client knows and nothing the servers know.

export type OpKind = 'put' | 'get';

export interface Operation {
  readonly id: number;
  readonly clientId: number;
  readonly key: string;
  readonly kind: OpKind;
  // put: the value written (null deletes the key). get: null.
  readonly valueIn: string | null;
  // get: the value read (null: absent). put: null. Meaningless while pending.
  readonly valueOut: string | null;
  readonly invokeUs: number;
  // null: pending. The client never learned the outcome (timeout, crash), so the operation may
  // or may not have taken effect, at any time after its invocation.
  readonly completeUs: number | null;
}

interface MutableOperation {
  id: number;
  clientId: number;
  key: string;
  kind: OpKind;
  valueIn: string | null;
  valueOut: string | null;
  invokeUs: number;
  completeUs: number | null;
  // A definite failure (the server refused it before applying): it took no effect and is left
  // out of the checked history.
  failed: boolean;
}

export class HistoryFullError extends Error {
  override name = 'HistoryFullError';
}

export class History {
  private readonly ops: MutableOperation[] = [];
  private open = 0;

  // opsMax bounds memory: a run that records more is misconfigured (check in windows instead).
  constructor(readonly opsMax = 5_000_000) {}

  invokePut(clientId: number, key: string, value: string | null, nowUs: number): number {
    return this.invoke(clientId, 'put', key, value, nowUs);
  }

  invokeGet(clientId: number, key: string, nowUs: number): number {
    return this.invoke(clientId, 'get', key, null, nowUs);
  }

  invoke(clientId: number, kind: OpKind, key: string, valueIn: string | null, nowUs: number): number {
    if (this.ops.length >= this.opsMax) throw new HistoryFullError(`history: more than ${this.opsMax} operations`);
    const id = this.ops.length;
    this.ops.push({ id, clientId, key, kind, valueIn: kind === 'put' ? valueIn : null, valueOut: null, invokeUs: nowUs, completeUs: null, failed: false });
    this.open++;
    return id;
  }

  // complete records the answer: for a get the value read; for a put pass null.
  complete(id: number, valueOut: string | null, nowUs: number): void {
    const op = this.pendingOp(id);
    if (nowUs < op.invokeUs) throw new RangeError(`history: op ${id} completes at ${nowUs}us before its invocation at ${op.invokeUs}us`);
    op.completeUs = nowUs;
    op.valueOut = op.kind === 'get' ? valueOut : null;
    this.open--;
  }

  // fail records a definite failure: the operation did not and will not take effect.
  fail(id: number): void {
    const op = this.pendingOp(id);
    op.failed = true;
    this.open--;
  }

  private pendingOp(id: number): MutableOperation {
    const op = this.ops[id];
    if (op === undefined) throw new RangeError(`history: no operation ${id}`);
    if (op.completeUs !== null || op.failed) throw new Error(`history: operation ${id} already finished`);
    return op;
  }

  // pendingCount is the number of operations invoked and not yet completed or failed.
  get pendingCount(): number {
    return this.open;
  }

  get size(): number {
    return this.ops.length;
  }

  // operations is what the checker judges: everything except definite failures.
  operations(): Operation[] {
    const out: Operation[] = [];
    for (const op of this.ops) {
      if (!op.failed) out.push(toOperation(op));
    }
    return out;
  }
}

function toOperation(op: MutableOperation): Operation {
  return {
    id: op.id,
    clientId: op.clientId,
    key: op.key,
    kind: op.kind,
    valueIn: op.valueIn,
    valueOut: op.valueOut,
    invokeUs: op.invokeUs,
    completeUs: op.completeUs,
  };
}

// describeOperation: `put(x, "a")`, `get(x) -> "b"`, `get(x) -> ?` (pending).
export function describeOperation(op: Operation): string {
  const key = JSON.stringify(op.key);
  if (op.kind === 'put') return op.valueIn === null ? `delete(${key})` : `put(${key}, ${JSON.stringify(op.valueIn)})`;
  const out = op.completeUs === null ? '?' : op.valueOut === null ? 'nil' : JSON.stringify(op.valueOut);
  return `get(${key}) -> ${out}`;
}
