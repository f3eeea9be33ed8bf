/**
 * Identity: Ed25519 keys, node IDs, fingerprints, signed records and the key store.
 * See README.md in this directory for the formats.
 *
 * @module
 */
export { type KeyPair, PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, SIGNATURE_BYTES, generateKeyPair, isValidPublicKey, keyPairFromSecretKey, signMessage, verifySignature } from './keys.ts';
export { NODE_ID_BYTES, isNodeId, nodeId, nodeIdBytes } from './node-id.ts';
export { FINGERPRINT_GROUPS, fingerprint, fingerprintGroups } from './fingerprint.ts';
export { Identity, type Signer } from './identity.ts';
export { CanonicalJsonError, type JsonValue, MAX_JSON_DEPTH, canonicalJson } from './canonical-json.ts';
export {
  MAX_KIND_LENGTH,
  MAX_RECORD_BODY_BYTES,
  MAX_RECORD_BYTES,
  RECORD_VERSION,
  type RecordFields,
  RecordFormatError,
  type SignedRecord,
  decodeRecord,
  encodeRecord,
  recordSigningMessage,
} from './record.ts';
export { type RecordDraft, type RecordPolicy, type RecordRejection, type RecordVerdict, signRecord, verifyRecord, verifyRecordBytes } from './record-sign.ts';
export { compareRecords, isNewer } from './record-order.ts';
export { KEY_FILE_NAME, KeyStoreError, type KeyStoreOptions, type KeyStoreProblem, type StoredIdentity, keyFilePath, loadIdentity, loadOrCreateIdentity } from './keystore.ts';
export { type AtomicWriteOptions, writeFileAtomic } from './atomic-write.ts';
