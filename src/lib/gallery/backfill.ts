import type { GalleryIndexer } from './indexer.js';
import type { ImageStore } from '../images/store.js';

// Rebuilds what the gallery reads from the source of truth, the records: every kept image gets its
// thumbnail (made where it is missing) and its index entry (rewritten: the same row key each time,
// so running it twice changes nothing). For images kept before the gallery existed, and after an
// index write or a thumbnail failed.

export interface BackfillReport {
  images: number;
  indexed: number;
  thumbnailsMade: number;
  /** Images whose record is missing or unreadable, or whose entry could not be written: named in the log. */
  failed: number;
}

export async function backfill(
  store: ImageStore,
  indexer: GalleryIndexer,
  options: { concurrency?: number; log?: (line: string) => void } = {},
): Promise<BackfillReport> {
  const log = options.log ?? (() => undefined);
  const report: BackfillReport = { images: 0, indexed: 0, thumbnailsMade: 0, failed: 0 };
  const one = async (blob: string) => {
    report.images++;
    try {
      const outcome = await indexer.thumbnail(blob, { onlyIfMissing: true });
      if (outcome === 'gone') throw new Error('it has no record');
      report.indexed++;
      if (outcome === 'made') report.thumbnailsMade++;
    } catch (err) {
      report.failed++;
      log(`${blob}: ${(err as Error).message}`);
    }
  };
  // A few at a time: Storage round trips overlap, thumbnails are made one at a time anyway.
  const running = new Set<Promise<void>>();
  for await (const blob of store.imageBlobs()) {
    const task = one(blob).finally(() => running.delete(task));
    running.add(task);
    if (running.size >= (options.concurrency ?? 8)) await Promise.race(running);
  }
  await Promise.all(running);
  return report;
}
