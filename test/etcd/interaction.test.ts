// etcd-io/raft's interaction transcripts (testdata/*.txt), run against our core and compared byte
// for byte. The files are read from ../shared/etcd-raft-testdata (or $ETCD_RAFT_TESTDATA), never
// copied here. ETCD_TESTDATA_FILTER=substring runs only the files whose name contains it.

import { test } from 'node:test';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  etcdTestdataRoot,
  etcdTestdataSkipMessage,
  isTempFileName,
  runDatadrivenFile,
} from './datadriven.js';
import { InteractionEnv } from './interaction-env.js';
import { handle } from './interaction-env-handlers.js';

const root = etcdTestdataRoot();
const dir = root === null ? null : join(root, 'testdata');
const filter = process.env['ETCD_TESTDATA_FILTER'] ?? '';

if (dir === null) {
  test('etcd interaction testdata', { skip: etcdTestdataSkipMessage() }, () => {});
} else {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.txt') && !isTempFileName(f) && f.includes(filter))
    .sort();
  if (files.length === 0) {
    test('etcd interaction testdata', { skip: `no file in ${dir} matches "${filter}"` }, () => {});
  }
  for (const f of files) {
    test(`interaction ${f}`, () => {
      // One env per file: a transcript is one story, each directive building on the last.
      const env = new InteractionEnv();
      runDatadrivenFile(join(dir, f), (d) => handle(env, d));
    });
  }
}
