/**
 * The storage-adapter contract and what every adapter shares: the types, the
 * key rules, `defineAdapter`, and the batch calls that fall back to single
 * calls where a backend has no batch.
 *
 * @module
 */
export * from './contract.js';
export { writeBatch, writeEach, hasEach, deleteEach } from './batch.js';
export { defineAdapter, type AdapterCalls, type AdapterDefinition, type GuardedCall } from './define.js';
export { abortable } from '../internal/abort.js';
