import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConnectionError,
  CorruptInputError,
  ExitCode,
  exitCodeOf,
  InterruptedError,
  NotFoundError,
  oneLine,
  RefusedError,
  UsageError,
} from '../../../src/util/errors.js';

test('each error class maps to its documented exit code', () => {
  assert.equal(exitCodeOf(new UsageError('x')), 2);
  assert.equal(exitCodeOf(new CorruptInputError('f', 'bad page', 'page 7')), 3);
  assert.equal(exitCodeOf(new NotFoundError('backup 1')), 4);
  assert.equal(exitCodeOf(new ConnectionError('https://a:2379', 'refused')), 5);
  assert.equal(exitCodeOf(new RefusedError('no')), 6);
  assert.equal(exitCodeOf(new InterruptedError('SIGINT')), 130);
  assert.equal(exitCodeOf(new Error('plain')), ExitCode.failed);
});

test('errors carry their data and name the place', () => {
  const e = new CorruptInputError('snap.db', 'checksum mismatch', 'meta page 0');
  assert.equal(e.message, 'snap.db: meta page 0: checksum mismatch');
  assert.equal(e.file, 'snap.db');
  assert.equal(new NotFoundError('key /a', 'snap.db').message, 'key /a not found in snap.db');
});

test('oneLine folds multi-line messages', () => {
  assert.equal(oneLine(new Error('a\n  b\nc')), 'a b c');
});

test('messages quoting untrusted bytes stay one printable line', () => {
  const e = new CorruptInputError('snap.db', "content type '\n\u0007apps/v1\u0012\u007f' is not supported");
  assert.equal(e.message, "snap.db: content type '\\n\\x07apps/v1\\x12\\x7f' is not supported");
  assert.doesNotMatch(e.message, /[\u0000-\u001f]/); // eslint-disable-line no-control-regex
});
