// etcd-io/raft quorum/datadriven_test.go over ../shared/etcd-raft-testdata/quorum/testdata.
//
// "committed" checks committedIndex, "vote" checks voteResult. cfg= is the majority config and
// cfgj= (optionally "zero") makes it a joint test with a second half. idx= and votes= list one
// value per distinct voter in the order cfg then cfgj; "_" means "nothing known" (not 0). Beside the
// main result the handler recomputes it in ways that must agree (alternative algorithm, joining
// with the empty or the same config, swapping joint halves, lowering a voter that is already below
// the result) and prints any disagreement, so the expected files also pin those properties.

import { test } from 'node:test';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AckedIndexer,
  type Index,
  indexString,
  JointConfig,
  MajorityConfig,
  MapAckIndexer,
  voteResultName,
} from '../../src/core/quorum.js';
import {
  etcdTestdataRoot,
  etcdTestdataSkipMessage,
  isTempFileName,
  parseGoUint,
  runDatadrivenFile,
  type TestData,
} from './datadriven.js';

// The brute-force definition: the largest index acked (at or above) by a quorum of voters.
export function alternativeMajorityCommittedIndex(c: MajorityConfig, l: AckedIndexer): Index {
  if (c.size === 0) return Infinity;
  const idToIdx = new Map<number, Index>();
  for (const id of c) {
    const idx = l.ackedIndex(id);
    if (idx !== undefined) idToIdx.set(id, idx);
  }
  const idxToVotes = new Map<Index, number>();
  for (const idx of idToIdx.values()) idxToVotes.set(idx, 0);
  for (const idx of idToIdx.values()) {
    for (const [idy, n] of idxToVotes) {
      if (idy > idx) continue;
      idxToVotes.set(idy, n + 1);
    }
  }
  const q = (c.size >> 1) + 1;
  let maxQuorumIdx = 0;
  for (const [idx, n] of idxToVotes) {
    if (n >= q && idx > maxQuorumIdx) maxQuorumIdx = idx;
  }
  return maxQuorumIdx;
}

function goMapString(ids: Set<number>): string {
  return `map[${[...ids].sort((a, b) => a - b).map((id) => `${id}:{}`).join(' ')}]`;
}

function handle(d: TestData): string {
  let joint = false;
  const ids: number[] = [];
  const idsj: number[] = [];
  const idxs: Index[] = [];
  const votes: Index[] = [];

  for (const arg of d.cmdArgs) {
    for (let i = 0; i < arg.vals.length; i++) {
      const val = arg.vals[i]!;
      switch (arg.key) {
        case 'cfg':
          ids.push(parseGoUint(val));
          break;
        case 'cfgj':
          joint = true;
          if (val === 'zero') {
            if (arg.vals.length !== 1) throw new Error("cannot mix 'zero' into configuration");
          } else {
            idsj.push(parseGoUint(val));
          }
          break;
        case 'idx': {
          let n = 0;
          if (val !== '_') {
            n = parseGoUint(val);
            // "_" is encoded as 0 below, so a literal 0 would be ambiguous.
            if (n === 0) throw new Error('cannot use 0 as idx');
          }
          idxs.push(n);
          break;
        }
        case 'votes':
          switch (val) {
            case 'y': votes.push(2); break;
            case 'n': votes.push(1); break;
            case '_': votes.push(0); break;
            default: throw new Error(`unknown vote: ${val}`);
          }
          break;
        default:
          throw new Error(`unknown arg ${arg.key}`);
      }
    }
  }

  const c = new MajorityConfig(ids);
  const cj = new MajorityConfig(idsj);

  // Maps the given values onto the distinct voters in (ids, idsj) order; zeros (from "_") are
  // dropped afterwards so that a placeholder means "not found" rather than "acked 0".
  const makeLookuper = (vals: Index[]): MapAckIndexer => {
    const l = new Map<number, Index>();
    let p = 0;
    for (const id of [...ids, ...idsj]) {
      if (l.has(id)) continue;
      if (p < vals.length) l.set(id, vals[p++]!);
    }
    for (const [id, v] of [...l]) if (v === 0) l.delete(id);
    return new MapAckIndexer(l);
  };

  {
    const input = d.cmd === 'vote' ? votes : idxs;
    const voters = new JointConfig(c, cj).ids();
    if (voters.size !== input.length) {
      return `error: mismatched input (explicit or _) for voters ${goMapString(voters)}: [${input.map(indexString).join(' ')}]`;
    }
  }

  let buf = '';
  switch (d.cmd) {
    case 'committed': {
      const l = makeLookuper(idxs);
      if (!joint) {
        const idx = c.committedIndex(l);
        buf += c.describe(l);
        let aIdx = alternativeMajorityCommittedIndex(c, l);
        if (aIdx !== idx) buf += `${indexString(aIdx)} <-- via alternative computation\n`;
        aIdx = new JointConfig(c, new MajorityConfig()).committedIndex(l);
        if (aIdx !== idx) buf += `${indexString(aIdx)} <-- via zero-joint quorum\n`;
        aIdx = new JointConfig(c, c).committedIndex(l);
        if (aIdx !== idx) buf += `${indexString(aIdx)} <-- via self-joint quorum\n`;
        const overlay = (id: number, to: Index): AckedIndexer => {
          const ll = new Map<number, Index>();
          for (const iid of c) {
            if (iid === id) ll.set(iid, to);
            else {
              const v = l.ackedIndex(iid);
              if (v !== undefined) ll.set(iid, v);
            }
          }
          return new MapAckIndexer(ll);
        };
        for (const id of c) {
          const iidx = l.ackedIndex(id) ?? 0;
          if (idx > iidx && iidx > 0) {
            // Lowering a voter that is already below the committed index cannot change it.
            aIdx = c.committedIndex(overlay(id, iidx - 1));
            if (aIdx !== idx) buf += `${indexString(aIdx)} <-- overlaying ${id}->${iidx}`;
            aIdx = c.committedIndex(overlay(id, 0));
            if (aIdx !== idx) buf += `${indexString(aIdx)} <-- overlaying ${id}->0`;
          }
        }
        buf += `${indexString(idx)}\n`;
      } else {
        const cc = new JointConfig(c, cj);
        buf += cc.describe(l);
        const idx = cc.committedIndex(l);
        const aIdx = new JointConfig(cj, c).committedIndex(l);
        if (aIdx !== idx) buf += `${indexString(aIdx)} <-- via symmetry\n`;
        buf += `${indexString(idx)}\n`;
      }
      break;
    }
    case 'vote': {
      const ll = makeLookuper(votes);
      const l = new Map<number, boolean>();
      for (const [id, v] of ll.m) l.set(id, v !== 1); // 1 = no, 2 = yes
      if (!joint) {
        buf += `${voteResultName(c.voteResult(l))}\n`;
      } else {
        const r = new JointConfig(c, cj).voteResult(l);
        const ar = new JointConfig(cj, c).voteResult(l);
        if (ar !== r) buf += `${voteResultName(ar)} <-- via symmetry\n`;
        buf += `${voteResultName(r)}\n`;
      }
      break;
    }
    default:
      throw new Error(`unknown command: ${d.cmd}`);
  }
  return buf;
}

const root = etcdTestdataRoot();
if (root === null) {
  test('etcd quorum datadriven', { skip: etcdTestdataSkipMessage() }, () => {});
} else {
  const dir = join(root, 'quorum', 'testdata');
  for (const name of readdirSync(dir).sort()) {
    if (isTempFileName(name)) continue;
    test(`etcd quorum/testdata/${name}`, () => {
      runDatadrivenFile(join(dir, name), handle);
    });
  }
}
