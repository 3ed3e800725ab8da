/**
 * Which member to back up from. Candidates are the given endpoints plus every voting member's client URLs
 * from MemberList. Eligible: Status answered in time, not a learner, no NOSPACE/CORRUPT alarm, and
 * raftAppliedIndex ≥ the highest − 1000. The eligible follower with the highest applied index wins (ties:
 * lowest id); the leader only when no follower is eligible; `--member` forces one.
 */
import { ConnectionError, UsageError } from '../util/errors.js';
import { hexId } from '../util/json.js';

export const APPLIED_INDEX_SLACK = 1000n;

export interface CandidateState {
  endpoint: string;
  /** Undefined when Status did not answer. */
  status?: {
    memberId: bigint;
    clusterId: bigint;
    leader: bigint;
    raftAppliedIndex: bigint;
    isLearner: boolean;
    version: string;
    dbSize: bigint;
  };
  name?: string;
  alarms: string[];
  error?: string;
}

export interface Choice {
  candidate: CandidateState;
  reason: string;
}

/** Why a candidate is not eligible, or undefined when it is. */
function ineligible(c: CandidateState, highest: bigint): string | undefined {
  if (!c.status) return `no status (${c.error ?? 'no answer'})`;
  if (c.status.isLearner) return 'learner';
  const bad = c.alarms.filter((a) => a === 'NOSPACE' || a === 'CORRUPT');
  if (bad.length) return `alarm ${bad.join(',')}`;
  if (c.status.raftAppliedIndex + APPLIED_INDEX_SLACK < highest) {
    return `applied index ${c.status.raftAppliedIndex} lags the highest ${highest} by more than ${APPLIED_INDEX_SLACK}`;
  }
  return undefined;
}

function matchesMember(c: CandidateState, want: string): boolean {
  if (!c.status) return false;
  const w = want.toLowerCase();
  return c.name === want || hexId(c.status.memberId) === w || c.endpoint === want;
}

/**
 * Orders the candidates: the first is the choice, the rest are the fallbacks in order should the chosen
 * member die mid-stream. Candidates are de-duplicated by member id (the first endpoint of a member wins).
 */
export function rankMembers(all: CandidateState[], forced?: string): Choice[] {
  const seen = new Set<bigint>();
  const cands: CandidateState[] = [];
  for (const c of all) {
    if (c.status) {
      if (seen.has(c.status.memberId)) continue;
      seen.add(c.status.memberId);
    }
    cands.push(c);
  }
  if (forced !== undefined) {
    const c = cands.find((x) => matchesMember(x, forced));
    if (!c) {
      const known = cands
        .filter((x) => x.status)
        .map((x) => `${x.name ?? '?'} (${hexId(x.status!.memberId)})`);
      throw new UsageError(
        `--member: no answering member named ${forced}; found ${known.join(', ') || 'none'}`,
      );
    }
    return [{ candidate: c, reason: `forced by --member ${forced}` }];
  }
  const answering = cands.filter((c) => c.status);
  if (answering.length === 0) {
    const why = cands.map((c) => `${c.endpoint}: ${c.error ?? 'no answer'}`).join('; ');
    throw new ConnectionError(cands[0]?.endpoint ?? '(no endpoints)', `no member answered Status: ${why}`);
  }
  const highest = answering.reduce(
    (m, c) => (c.status!.raftAppliedIndex > m ? c.status!.raftAppliedIndex : m),
    0n,
  );
  const eligible = cands.filter((c) => ineligible(c, highest) === undefined);
  if (eligible.length === 0) {
    const why = cands.map((c) => `${c.name ?? c.endpoint}: ${ineligible(c, highest)}`).join('; ');
    throw new ConnectionError(cands[0]!.endpoint, `no eligible member to back up from: ${why}`);
  }
  const isLeader = (c: CandidateState) => c.status!.leader === c.status!.memberId;
  const order = (a: CandidateState, b: CandidateState) => {
    const d = b.status!.raftAppliedIndex - a.status!.raftAppliedIndex;
    if (d !== 0n) return d > 0n ? 1 : -1;
    return a.status!.memberId < b.status!.memberId ? -1 : a.status!.memberId > b.status!.memberId ? 1 : 0;
  };
  const followers = eligible.filter((c) => !isLeader(c)).sort(order);
  const leaders = eligible.filter(isLeader).sort(order);
  const skipped = cands
    .filter((c) => !eligible.includes(c))
    .map((c) => `${c.name ?? c.endpoint} ${ineligible(c, highest)}`);
  const skippedText = skipped.length ? `; not eligible: ${skipped.join(', ')}` : '';
  return [
    ...followers.map((c, i) => ({
      candidate: c,
      reason:
        i === 0
          ? `eligible follower with the highest applied index ${c.status!.raftAppliedIndex} (of ${eligible.length} eligible)${skippedText}`
          : `fallback follower, applied index ${c.status!.raftAppliedIndex}`,
    })),
    ...leaders.map((c) => ({
      candidate: c,
      reason:
        followers.length === 0
          ? `leader: no follower is eligible${skippedText}`
          : `fallback to the leader after the followers failed`,
    })),
  ];
}
