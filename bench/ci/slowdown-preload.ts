// The injected slowdown of the live gate's own test (test/ci/gate.test.ts), for builds whose nodes
// do not read FRB_SLOWDOWN_US_PER_MSG themselves: loaded into each node process of the current
// build with `node --import` (NODE_OPTIONS), it wraps Transport.send so that every peer message
// sent costs that many microseconds of busy CPU, as a change that adds work per message would.
//
// The gate loads it only when the knob is set and the build's own code does not mention the knob
// (so that it never counts twice), and only into the current build's nodes. Once the live node or
// the transport reads FRB_SLOWDOWN_US_PER_MSG itself, this file is no longer used.

import { Transport } from '../../src/transport/index.js';
import type { Message } from '../../src/core/types.js';

const usPerMsg = Number(process.env['FRB_SLOWDOWN_US_PER_MSG'] ?? '0');

// spinUs burns CPU for us microseconds (a sleep would not cost the event loop anything).
function spinUs(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end) {
    // busy
  }
}

if (Number.isFinite(usPerMsg) && usPerMsg > 0) {
  const send = Transport.prototype.send;
  Transport.prototype.send = function slowSend(this: Transport, msgs: readonly Message[]): void {
    spinUs(usPerMsg * msgs.length);
    send.call(this, msgs);
  };
}
