export {
  type Cursor,
  type SyncTokenFields,
  type SyncAckResult,
  type SyncReadResult,
  type RuleSet,
  initialCursor,
  failure,
  success,
  fence,
  offline,
  syncAck,
  verifyAck,
  type AckRefusal,
  clampUpTo,
  syncRead,
  correctRules,
  type Guard,
  mergeGuards,
  mergeSuccesses,
} from './cursor';
export { batchDigest, lateCommitted } from './late-commit';
export { encodeSyncToken, decodeSyncToken } from './sync-token';
export { planFanout, deliveryJobId, deliveryBatchJobId, fanoutJobId } from './fanout';
export { ackKey, matchAcks } from './ack-match';
