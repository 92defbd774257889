// Human-readable renderings of the core's data, byte for byte those of etcd/raft's util.go
// (DescribeReady, DescribeMessage, ...). The datadriven interaction transcripts are written in this
// format, so any drift here shows up as a diff in every test file at once.

import type { ConfState, Entry, HardState, Message, Snapshot } from './types.js';
import {
  EntryType,
  None,
  entryTypeName,
  isEmptyHardState,
  isEmptySnap,
  messageTypeName,
} from './types.js';
import type { ReadState, Ready, SoftState } from './ready.js';
import { LocalAppendThread, LocalApplyThread, stateTypeName } from './ready.js';
import { confChangesToString, decodeConfChange, decodeConfChangeV2 } from './confchange.js';

// EntryFormatter renders the data of a normal entry; the default is Go's %q of the bytes.
export type EntryFormatter = (data: Uint8Array) => string;

export function describeHardState(hs: HardState): string {
  let s = `Term:${hs.term}`;
  if (hs.vote !== 0) s += ` Vote:${hs.vote}`;
  s += ` Commit:${hs.commit}`;
  return s;
}

export function describeSoftState(ss: SoftState): string {
  return `Lead:${ss.lead} State:${stateTypeName(ss.raftState)}`;
}

// goUintSlice renders a []uint64 the way Go's %v does: "[1 2 3]".
export function goUintSlice(ids: readonly number[]): string {
  return `[${ids.join(' ')}]`;
}

export function describeConfState(cs: ConfState): string {
  return (
    `Voters:${goUintSlice(cs.voters)} VotersOutgoing:${goUintSlice(cs.votersOutgoing)} ` +
    `Learners:${goUintSlice(cs.learners)} LearnersNext:${goUintSlice(cs.learnersNext)} ` +
    `AutoLeave:${cs.autoLeave ? 'true' : 'false'}`
  );
}

export function describeSnapshot(snap: Snapshot): string {
  const m = snap.metadata;
  return `Index:${m.index} Term:${m.term} ConfState:${describeConfState(m.confState)}`;
}

// Go's %v of []ReadState: "[{10 [1 2 3]}]" (the request context is a []byte, printed as numbers).
function describeReadStates(rs: readonly ReadState[]): string {
  return `[${rs.map((r) => `{${r.index} ${goUintSlice(Array.from(r.requestCtx))}}`).join(' ')}]`;
}

export function describeReady(rd: Ready, f?: EntryFormatter): string {
  let buf = '';
  if (rd.softState !== null) buf += describeSoftState(rd.softState) + '\n';
  if (!isEmptyHardState(rd.hardState)) buf += `HardState ${describeHardState(rd.hardState)}\n`;
  if (rd.readStates.length > 0) buf += `ReadStates ${describeReadStates(rd.readStates)}\n`;
  if (rd.entries.length > 0) buf += 'Entries:\n' + describeEntries(rd.entries, f);
  if (rd.snapshot !== null && !isEmptySnap(rd.snapshot)) {
    buf += `Snapshot ${describeSnapshot(rd.snapshot)}\n`;
  }
  if (rd.committedEntries.length > 0) {
    buf += 'CommittedEntries:\n' + describeEntries(rd.committedEntries, f);
  }
  if (rd.messages.length > 0) {
    buf += 'Messages:\n';
    for (const m of rd.messages) buf += describeMessage(m, f) + '\n';
  }
  if (buf.length > 0) return `Ready MustSync=${rd.mustSync ? 'true' : 'false'}:\n${buf}`;
  return '<empty Ready>';
}

export function describeMessage(m: Message, f?: EntryFormatter): string {
  return describeMessageWithIndent('', m, f);
}

function describeMessageWithIndent(indent: string, m: Message, f?: EntryFormatter): string {
  let buf =
    `${indent}${describeTarget(m.from)}->${describeTarget(m.to)} ${messageTypeName(m.type)} ` +
    `Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.reject) buf += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit !== 0) buf += ` Commit:${m.commit}`;
  if (m.vote !== 0) buf += ` Vote:${m.vote}`;
  const ents = m.entries;
  if (ents.length === 1) {
    buf += ` Entries:[${describeEntry(ents[0]!, f)}]`;
  } else if (ents.length > 1) {
    buf += ' Entries:[';
    for (const e of ents) buf += `\n${indent}  ${describeEntry(e, f)}`;
    buf += `\n${indent}]`;
  }
  if (m.snapshot !== null && !isEmptySnap(m.snapshot)) {
    buf += `\n${indent}  Snapshot: ${describeSnapshot(m.snapshot)}`;
  }
  if (m.responses.length > 0) {
    buf += ' Responses:[';
    for (const r of m.responses) buf += '\n' + describeMessageWithIndent(indent + '  ', r, f);
    buf += `\n${indent}]`;
  }
  return buf;
}

export function describeTarget(id: number): string {
  switch (id) {
    case None:
      return 'None';
    case LocalAppendThread:
      return 'AppendThread';
    case LocalApplyThread:
      return 'ApplyThread';
    default:
      return id.toString(16);
  }
}

export function defaultEntryFormatter(data: Uint8Array): string {
  return goQuote(data);
}

export function describeEntry(e: Entry, f?: EntryFormatter): string {
  const fmt = f ?? defaultEntryFormatter;
  let formatted = '';
  switch (e.type) {
    case EntryType.EntryNormal:
      formatted = fmt(e.data);
      break;
    case EntryType.EntryConfChange:
      // etcd prints the decoding error in place of the change; so do we.
      try {
        const cc = decodeConfChange(e.data);
        formatted = confChangesToString([{ type: cc.type, nodeId: cc.nodeId }]);
      } catch (err) {
        formatted = err instanceof Error ? err.message : String(err);
      }
      break;
    case EntryType.EntryConfChangeV2:
      try {
        formatted = confChangesToString(decodeConfChangeV2(e.data).changes);
      } catch (err) {
        formatted = err instanceof Error ? err.message : String(err);
      }
      break;
  }
  if (formatted !== '') formatted = ' ' + formatted;
  return `${e.term}/${e.index} ${entryTypeName(e.type)}${formatted}`;
}

export function describeEntries(ents: readonly Entry[], f?: EntryFormatter): string {
  let buf = '';
  for (const e of ents) buf += describeEntry(e, f) + '\n';
  return buf;
}

const HEX = '0123456789abcdef';

function hex2(b: number): string {
  return HEX[(b >> 4) & 0xf]! + HEX[b & 0xf]!;
}

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const printableRe = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function isGoPrint(r: number): boolean {
  if (r < 0x80) return r >= 0x20 && r < 0x7f;
  return printableRe.test(String.fromCodePoint(r));
}

// decodeRune follows Go's utf8.DecodeRune: it returns [rune, width], and [-1, 1] for a byte that
// does not start a valid, shortest-form, non-surrogate encoding.
function decodeRune(b: Uint8Array, i: number): [number, number] {
  const c0 = b[i]!;
  if (c0 < 0x80) return [c0, 1];
  const cont = (k: number, lo = 0x80, hi = 0xbf): number => {
    const c = b[i + k];
    return c !== undefined && c >= lo && c <= hi ? c & 0x3f : -1;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    const c1 = cont(1);
    return c1 < 0 ? [-1, 1] : [((c0 & 0x1f) << 6) | c1, 2];
  }
  if (c0 >= 0xe0 && c0 <= 0xef) {
    // E0 must avoid overlong forms, ED must avoid surrogates.
    const c1 = c0 === 0xe0 ? cont(1, 0xa0, 0xbf) : c0 === 0xed ? cont(1, 0x80, 0x9f) : cont(1);
    if (c1 < 0) return [-1, 1];
    const c2 = cont(2);
    if (c2 < 0) return [-1, 1];
    return [((c0 & 0x0f) << 12) | (c1 << 6) | c2, 3];
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const c1 = c0 === 0xf0 ? cont(1, 0x90, 0xbf) : c0 === 0xf4 ? cont(1, 0x80, 0x8f) : cont(1);
    if (c1 < 0) return [-1, 1];
    const c2 = cont(2);
    if (c2 < 0) return [-1, 1];
    const c3 = cont(3);
    if (c3 < 0) return [-1, 1];
    return [((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4];
  }
  return [-1, 1];
}

// goQuote is Go's strconv.Quote applied to a byte string (what %q prints for a []byte): invalid
// UTF-8 bytes become \xNN, non-printable runes \a..\v, \xNN, \uNNNN or \UNNNNNNNN.
export function goQuote(b: Uint8Array): string {
  let out = '"';
  for (let i = 0; i < b.length; ) {
    const [r, width] = decodeRune(b, i);
    if (r < 0) {
      out += '\\x' + hex2(b[i]!);
      i += width;
      continue;
    }
    i += width;
    if (r === 0x22 || r === 0x5c) {
      out += '\\' + String.fromCharCode(r);
      continue;
    }
    if (isGoPrint(r)) {
      out += String.fromCodePoint(r);
      continue;
    }
    switch (r) {
      case 0x07: out += '\\a'; break;
      case 0x08: out += '\\b'; break;
      case 0x0c: out += '\\f'; break;
      case 0x0a: out += '\\n'; break;
      case 0x0d: out += '\\r'; break;
      case 0x09: out += '\\t'; break;
      case 0x0b: out += '\\v'; break;
      default:
        if (r < 0x20 || r === 0x7f) out += '\\x' + hex2(r);
        else if (r < 0x10000) out += '\\u' + r.toString(16).padStart(4, '0');
        else out += '\\U' + r.toString(16).padStart(8, '0');
    }
  }
  return out + '"';
}
