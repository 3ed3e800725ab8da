/**
 * Read-only bbolt reader (formats.md §1). Entry point: `BoltDb.open(path)`, then `db.bucket(name)`,
 * `bucket.cursor()` (first / seek / next), `entryValue(entry)`, `checkStructure(db)`.
 */
export { BoltDb, type BoltOpenOptions, type MetaState } from './db.js';
export { Bucket } from './bucket.js';
export { Cursor, entryValue, isBucketEntry, type LeafEntry } from './cursor.js';
export { checkStructure, type StructureProblem, type StructureReport } from './check.js';
export { BOLT_MAGIC, fnv1a64, PGID_NO_FREELIST, type Meta } from './meta.js';
export { freelistIds } from './freelist.js';
export { newLeafInfo, Page, PageFlag, type LeafInfo } from './page.js';
