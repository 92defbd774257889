// Deliberately broken rules, for proving that the checkers have teeth: `frb fuzz --mutant NAME`
// must find a violation with each one switched on. Off by default; nothing but the fuzzer and
// its tests sets them. Each name switches off exactly one safety rule.

export const coreMutations = [
  // Commit by counting replicas of an entry from an older term (Raft §5.4.2, Figure 8).
  'commit-old-term',
  // Grant votes without the log up-to-date check (Raft §5.4.1, the election restriction).
  'vote-without-log-check',
] as const;

// Mutations that live in a driver (simulator), not in the core.
export const driverMutations = [
  // Send a Ready's messages before its entries and hard state are durable.
  'send-before-persist',
  // Lose the vote (and term) of the hard state on restart.
  'forget-vote-on-restart',
] as const;

export type CoreMutation = (typeof coreMutations)[number];
export type DriverMutation = (typeof driverMutations)[number];
export type Mutation = CoreMutation | DriverMutation | FastMutation;

// Fast Raft's safety rules (see fast.ts), switched off one at a time.
export const fastMutations = [
  // Rule 1 off: count a voter toward a fast quorum before the leader knows it holds an entry of
  // the leader's term.
  'fast-any-round',
  // Rule 2 off: check the fast quorum against the current configuration only.
  'fast-any-config',
] as const;
export type FastMutation = (typeof fastMutations)[number];

export const allMutations: readonly string[] = [...coreMutations, ...driverMutations, ...fastMutations];

export function isMutation(name: string): name is Mutation {
  return allMutations.includes(name);
}
