import { runBackendsBench } from './backends.js';
import { runGalleryBench } from './gallery.js';
import { runLedgerBench } from './ledger.js';
import { runMemoryBench } from './memory.js';
import { runPackageBench } from './package.js';
import { runQueueBench } from './queue.js';
import { runStreamBench } from './stream.js';
import { runSyncBench } from './sync.js';

// `npm run bench [sync|stream|memory|queue|package|backends|ledger|gallery]`: every bench by default.

const benches: Record<string, () => Promise<void>> = {
  sync: runSyncBench,
  stream: runStreamBench,
  memory: runMemoryBench,
  queue: runQueueBench,
  package: runPackageBench,
  backends: runBackendsBench,
  ledger: runLedgerBench,
  gallery: runGalleryBench,
};

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  for (const name of names.length ? names : Object.keys(benches)) {
    const bench = benches[name];
    if (!bench) throw new Error(`no bench "${name}": ${Object.keys(benches).join(', ')}`);
    await bench();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
