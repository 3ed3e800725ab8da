import { snapshotSuite } from './suite.js';

snapshotSuite('3.5');
