import { describe, expect, inject, it } from 'vitest';
import { localSettings } from '../support/settings.js';
import { createStorageClients, ensureTable } from '../../src/lib/platform/storage.js';
import { uniqueName } from '../support/stack.js';

// The app's tables, on the same connection as its blobs and queues (Azurite here).

describe('tables', () => {
  it('are created once and take conditional updates', async () => {
    const settings = localSettings({ AzureWebJobsStorage: inject('azurite').connectionString });
    const table = createStorageClients(settings, () => {
      throw new Error('no credential locally');
    }).table(uniqueName('t').replaceAll('-', ''));
    await Promise.all([ensureTable(table), ensureTable(table)]);
    await table.createEntity({ partitionKey: 'p', rowKey: 'r', count: 1 });
    const read = await table.getEntity<{ count: number }>('p', 'r');
    await table.updateEntity({ partitionKey: 'p', rowKey: 'r', count: 2 }, 'Replace', { etag: read.etag });
    // A write on a stale ETag loses: the basis of every shared counter.
    await expect(
      table.updateEntity({ partitionKey: 'p', rowKey: 'r', count: 3 }, 'Replace', { etag: read.etag }),
    ).rejects.toMatchObject({ statusCode: 412 });
    expect((await table.getEntity<{ count: number }>('p', 'r')).count).toBe(2);
  });
});
