// Public surface of the storage layer.
export {
  openDatabase,
  vacuum,
  DEFAULT_DB_PATH,
  DatabaseBusyError,
  DatabaseNotFoundError,
  DatabaseUnavailableError,
  isBusyError,
  WRITE_LOCK_KEY,
  type Db,
} from './db.js';
export { dialectOf, describeTarget, isPostgresTarget, type DialectName } from './dialect.js';
export { copyDatabase, CopyTargetNotEmptyError, type CopyReport } from './copy.js';
export { publisherLease, PUBLISHER_LOCK_KEY, type PublisherLease } from './lease.js';
export { migrateToLatest, MigrationError } from './migrate.js';
export { snapshotBody, readSnapshotBody, bodyStorage, encodeBody, BodyDecodeError, BROTLI_QUALITY, type EncodedBody, type UnreadableBody } from './bodies.js';
export {
  storeSnapshot,
  storeSnapshots,
  insertRawSnapshot,
  recordParse,
  getSnapshot,
  pendingSnapshots,
  pendingSummary,
  snapshotsWithoutContentKey,
  setContentKey,
  type RawSnapshotInput,
  type ParseRecord,
  type RowIssue,
  type StoredSnapshot,
} from './snapshots.js';
export {
  startRun,
  finishRun,
  recordSkippedRun,
  listRuns,
  recentYields,
  startPublicationRun,
  finishPublicationRun,
  latestPublicationRun,
  type RunEnd,
} from './runs.js';
export type * from './schema.js';
export * from './publication.js';
export * from './audit.js';
export {
  windowSnapshots,
  windowBlockData,
  snapshotTimesInWindow,
  snapshotWatermark,
  latestFixings,
  previousValues,
  trailingHistory,
  insertFixing,
  type WindowSnapshot,
  type NewFixing,
  type FixingSeal,
} from './fixings.js';
export * from './keys.js';
export {
  allObservations,
  blockGpuNames,
  decodeObservationBlock,
  everyObservationBlock,
  gpuNamesOf,
  encodeObservations,
  observationAt,
  observationBlockBytes,
  ObservationBlockError,
  observationFlags,
  observationsOf,
  readObservationBlock,
  snapshotsMissingObservations,
  storedObservationBlocks,
  type EncodedObservationBlock,
  type GpuName,
  type ObservationBlock,
  type StoredObservationBlock,
} from './observation-blocks.js';
export {
  AUDIT_BLOCK_ROWS,
  AuditBlockError,
  auditBlocks,
  auditColumnsOfRows,
  auditRowAt,
  auditRowColumns,
  auditRowCount,
  auditRowsOf,
  AuditHasher,
  auditSha256,
  encodeAudit,
  encodeAuditRows,
  storedAuditBlocks,
  inObservationOrder,
  readAuditBlock,
  PRESENT,
  type AuditRowColumns,
  type AuditRowValues,
  type EncodedAudit,
  type EncodedAuditBlock,
} from './audit-blocks.js';
export { monthRevisions, seriesOfMonth, latestSettlement, insertSettlement, allSettlements, monthSettled } from './settlements.js';
