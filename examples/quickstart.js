// The smallest useful program: canonicalize a value, hash it, keep it in the memory adapter.
import { canonicalBytes, objectKey, sha256Hex } from '../dist/index.js';
import { memoryAdapter } from '../dist/adapters/memory.js';

const adapter = memoryAdapter();
const value = { goal: 'back up the intent graph', priority: 1, tags: ['ccos', 'demo'] };
const bytes = canonicalBytes(value);
const hash = sha256Hex(bytes);
await adapter.write(objectKey(hash), bytes);
console.log(`stored ${bytes.byteLength} canonical bytes at ${objectKey(hash)}`);
console.log(new TextDecoder().decode(await adapter.read(objectKey(hash))));
