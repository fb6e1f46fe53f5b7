/**
 * RTFS data: a reader and printer for the data subset of the RTFS grammar,
 * and the intent-graph snapshot built on them.
 *
 * @module
 */
export { readRtfs, type ReadRtfsOptions, type RtfsNode, type RtfsPosition } from './reader.js';
export { printRtfsFloat, printRtfsInteger, printRtfsString } from './printer.js';
export {
  RTFS_SNAPSHOT_HEADER,
  compareRtfsSnapshot,
  printRtfsSnapshot,
  readRtfsSnapshot,
  type ReadRtfsSnapshotOptions,
} from './snapshot.js';
