/** Member selection rules, on hand-made candidate states. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rankMembers, type CandidateState } from '../../../src/backup/select.js';
import { ConnectionError, UsageError } from '../../../src/util/errors.js';

const LEADER = 0x10n;
function cand(
  id: bigint,
  applied: bigint,
  extra: Partial<CandidateState> & { learner?: boolean } = {},
): CandidateState {
  return {
    endpoint: `https://10.0.0.${Number(id)}:2379`,
    name: `m${id}`,
    alarms: extra.alarms ?? [],
    status: {
      memberId: id,
      clusterId: 1n,
      leader: LEADER,
      raftAppliedIndex: applied,
      isLearner: extra.learner ?? false,
      version: '3.6.0',
      dbSize: 1n,
    },
  };
}

test('the eligible follower with the highest applied index wins; ties go to the lowest id', () => {
  const r = rankMembers([cand(LEADER, 5000n), cand(0x30n, 4990n), cand(0x20n, 4990n), cand(0x40n, 3999n)]);
  assert.deepEqual(
    r.map((c) => c.candidate.status!.memberId),
    [0x20n, 0x30n, LEADER],
  );
  assert.match(r[0]!.reason, /eligible follower with the highest applied index 4990/);
  assert.match(r[0]!.reason, /m64 applied index 3999 lags/);
});

test('learners, NOSPACE/CORRUPT alarms and silent members are not eligible; the leader is the last resort', () => {
  const silent: CandidateState = { endpoint: 'https://10.0.0.9:2379', alarms: [], error: 'unreachable' };
  const r = rankMembers([
    cand(LEADER, 100n),
    cand(0x20n, 100n, { learner: true }),
    cand(0x30n, 100n, { alarms: ['NOSPACE'] }),
    cand(0x40n, 100n, { alarms: ['CORRUPT'] }),
    silent,
  ]);
  assert.equal(r.length, 1);
  assert.equal(r[0]!.candidate.status!.memberId, LEADER);
  assert.match(r[0]!.reason, /^leader: no follower is eligible/);
});

test('duplicate endpoints of one member count once; --member forces a choice', () => {
  const a = cand(0x20n, 10n);
  const dup = { ...cand(0x20n, 10n), endpoint: 'https://other:2379' };
  assert.equal(rankMembers([cand(LEADER, 10n), a, dup]).length, 2);
  const forced = rankMembers([cand(LEADER, 10n), a], 'm16');
  assert.equal(forced[0]!.candidate.status!.memberId, LEADER);
  assert.equal(rankMembers([cand(LEADER, 10n), a], '20')[0]!.candidate.status!.memberId, 0x20n);
  assert.throws(() => rankMembers([a], 'nope'), UsageError);
});

test('no answering member is a ConnectionError that lists every endpoint', () => {
  assert.throws(
    () => rankMembers([{ endpoint: 'https://a:2379', alarms: [], error: 'unreachable: connection refused' }]),
    (e: unknown) => e instanceof ConnectionError && /a:2379: unreachable: connection refused/.test(e.message),
  );
});
