// etcd-io/raft confchange/datadriven_test.go over ../shared/etcd-raft-testdata/confchange/testdata.
//
// Commands: "simple" and "enter-joint [autoleave=true]" take changes as input (vN voter, lN learner,
// rN remove, uN update); "leave-joint" takes none. Each file starts from an empty tracker and the
// changer's last index grows by one per command (errors included), which the printed `next` of
// new progresses reveals.

import { test } from 'node:test';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Changer, type ChangeResult, confChangesFromString } from '../../src/core/confchange.js';
import { progressMapString } from '../../src/core/progress.js';
import { ProgressTracker } from '../../src/core/tracker.js';
import {
  boolArg,
  etcdTestdataRoot,
  etcdTestdataSkipMessage,
  isTempFileName,
  runDatadrivenFile,
  type TestData,
} from './datadriven.js';

function runFile(path: string): void {
  const c = new Changer(new ProgressTracker(10, 0), 0);
  runDatadrivenFile(path, (d: TestData): string => {
    try {
      return step(c, d);
    } finally {
      c.lastIndex++;
    }
  });
}

function step(c: Changer, d: TestData): string {
  let ccs;
  try {
    ccs = confChangesFromString(d.input);
  } catch (e) {
    return (e as Error).message;
  }
  let r: ChangeResult;
  try {
    switch (d.cmd) {
      case 'simple':
        r = c.simple(ccs);
        break;
      case 'enter-joint': {
        const autoLeave = d.cmdArgs.length > 0 ? boolArg(d, 'autoleave') : false;
        r = c.enterJoint(autoLeave, ccs);
        break;
      }
      case 'leave-joint':
        if (ccs.length > 0) throw new Error('this command takes no input');
        r = c.leaveJoint();
        break;
      default:
        return 'unknown command';
    }
  } catch (e) {
    return (e as Error).message + '\n';
  }
  [c.tracker.config, c.tracker.progress] = r;
  return `${c.tracker.config.toString()}\n${progressMapString(c.tracker.progress)}`;
}

const root = etcdTestdataRoot();
if (root === null) {
  test('etcd confchange datadriven', { skip: etcdTestdataSkipMessage() }, () => {});
} else {
  const dir = join(root, 'confchange', 'testdata');
  for (const name of readdirSync(dir).sort()) {
    if (isTempFileName(name)) continue;
    test(`etcd confchange/testdata/${name}`, () => {
      runFile(join(dir, name));
    });
  }
}
