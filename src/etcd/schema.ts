/** etcd's backend schema inside bbolt (formats.md §2.1, §2.3): bucket names and meta keys. */
export const Buckets = {
  key: 'key',
  meta: 'meta',
  lease: 'lease',
  alarm: 'alarm',
  cluster: 'cluster',
  members: 'members',
  membersRemoved: 'members_removed',
  auth: 'auth',
  authUsers: 'authUsers',
  authRoles: 'authRoles',
} as const;

export const MetaKeys = {
  consistentIndex: 'consistent_index',
  term: 'term',
  scheduledCompactRev: 'scheduledCompactRev',
  finishedCompactRev: 'finishedCompactRev',
  confState: 'confState',
  storageVersion: 'storageVersion',
} as const;

export const ClusterKeys = {
  clusterVersion: 'clusterVersion',
  downgrade: 'downgrade',
} as const;

export const AuthKeys = {
  authEnabled: 'authEnabled',
  authRevision: 'authRevision',
} as const;
