/**
 * Limits TiKV applies to every client's requests (raw and transactional alike), checked before
 * anything is sent.
 */

/** TiKV's default `storage.max-key-size`: longer keys are refused by the server. */
export const MAX_KEY_SIZE_BYTES = 8 * 1024;

/** TiKV's default `raftstore.raft-entry-max-size`: a larger write cannot be proposed. */
export const MAX_ENTRY_SIZE_BYTES = 8 * 1024 * 1024;

/**
 * `Context.maxExecutionDurationMs` of writes (client-go `client.MaxWriteExecutionTime`: the short
 * read timeout of 30 s less 10 s).
 */
export const MAX_WRITE_EXECUTION_MS = 20_000;
