import { TableClient, type TransactionAction } from '@azure/data-tables';
import { gzipSync } from 'node:zlib';
import { startAzurite } from '../dev/fakes/azurite.js';
import { renderImage } from '../dev/fakes/emulator/images.js';
import { startHostProcess } from '../dev/fakes/host/process.js';
import { indexEntity, type GalleryItem } from '../src/lib/gallery/imageIndex.js';
import { ImageStore, thumbnailBlobName } from '../src/lib/images/store.js';
import { makeThumbnail } from '../src/lib/gallery/thumbnails.js';
import { percentile, verdict } from './stats.js';

// The gallery with 10,000 images kept: a page of 50 as the studio asks for it, answered by the app
// (the local host on Azurite, over loopback), for the first page, a page filtered by model (in the
// table), a prompt search (matched by the app, page by page), a rare search (the scan limit), and a
// later page through a continuation. Then what the studio page weighs on the wire, and how long a
// thumbnail takes to make from realistic images. Figures of one run; target p50 ≤ 300 ms a page.
// BENCH_GALLERY_IMAGES (10000) and BENCH_GALLERY_REQUESTS (40 per case) change the sizes.

const CONTAINER = 'benchgallery';
const TABLE = 'benchgalleryindex';
const SUBJECTS = [
  'a lighthouse at dusk',
  'three kites in a storm',
  'a comet over the sea',
  'a paper boat',
  'a fox in the snow',
  'a city at night',
  'a bowl of fruit',
  'an old map',
  'a robot gardener',
  'a quiet library',
];
const MODELS = ['gpt-image-2', 'gpt-image-1.5', 'gpt-image-1-mini'];
const TARGET_P50_MS = 300;

function item(i: number, start: number): GalleryItem {
  const created = new Date(start + i * 37_000);
  const blob = `${ImageStore.blobName(created, 0)}.png`;
  // One prompt in a thousand holds a rare word: the search that reads the most to fill a page.
  const prompt = `${SUBJECTS[i % SUBJECTS.length]}, watercolour, soft light, number ${i}${i % 1000 === 7 ? ', zanzibar' : ''}`;
  return {
    blob,
    record: `${blob}.json`,
    thumbnail: thumbnailBlobName(blob),
    content_type: 'image/png',
    prompt,
    caller: ['team-render', 'team-web', 'aad:alice@contoso.com', 'anonymous'][i % 4],
    requested_model: MODELS[i % 3],
    served_model: MODELS[i % 3],
    deployment: MODELS[i % 3],
    size: '1024x1024',
    quality: 'low',
    output_format: 'png',
    created: created.toISOString(),
    cost_usd: 0.0114,
  };
}

/** Writes the index straight to the table: batches of 100 (one partition), four at a time. */
async function seed(table: TableClient, count: number): Promise<void> {
  await table.createTable();
  const start = Date.UTC(2026, 5, 1);
  const batches: TransactionAction[][] = [];
  for (let i = 0; i < count; i += 100)
    batches.push(
      Array.from(
        { length: Math.min(100, count - i) },
        (_, k) => ['upsert', indexEntity(CONTAINER, item(i + k, start))] satisfies TransactionAction,
      ),
    );
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < batches.length) await table.submitTransaction(batches[next++]);
    }),
  );
}

interface Page {
  data: GalleryItem[];
  continuation?: string;
  scanned?: number;
}

export async function runGalleryBench(): Promise<void> {
  const count = Number(process.env.BENCH_GALLERY_IMAGES ?? 10_000);
  const requests = Number(process.env.BENCH_GALLERY_REQUESTS ?? 40);
  console.log(
    `\n== Gallery: a page of 50 with ${count.toLocaleString('en-US')} images indexed (the app on Azurite, over loopback) ==`,
  );
  const azurite = await startAzurite({ silent: true });
  try {
    const seeded = Date.now();
    await seed(
      TableClient.fromConnectionString(azurite.connectionString, TABLE, { allowInsecureConnection: true }),
      count,
    );
    console.log(
      `seeded ${count} index entities in ${((Date.now() - seeded) / 1000).toFixed(1)} s (transactions of 100)`,
    );
    const host = await startHostProcess({
      AzureWebJobsStorage: azurite.connectionString,
      // Never called: listing reads the index alone.
      AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:9',
      AZURE_OPENAI_API_KEY: 'unused',
      WEBHOOK_SIGNING_KEY: 'bench-gallery-signing-key',
      IMAGES_CONTAINER: CONTAINER,
      IMAGE_INDEX_TABLE: TABLE,
    });
    try {
      const page = async (query: string): Promise<{ ms: number; page: Page }> => {
        const started = performance.now();
        const answer = await fetch(`${host.url}/api/gallery/images${query}`);
        const body = (await answer.json()) as Page;
        if (answer.status !== 200) throw new Error(`${query} answered ${answer.status}: ${JSON.stringify(body)}`);
        return { ms: performance.now() - started, page: body };
      };
      // The 20th page's continuation: a page deep in the table.
      let continuation: string | undefined;
      for (let i = 0; i < 19; i++)
        continuation = (await page(continuation ? `?continuation=${continuation}` : '')).page.continuation;
      const cases: [string, string][] = [
        ['first page', ''],
        ['model filter', '?model=gpt-image-1.5'],
        ['prompt search', '?q=kites'],
        ['rare search', '?q=zanzibar'],
        ['page 20 (continuation)', `?continuation=${continuation}`],
      ];
      console.log(
        `${'case'.padEnd(24)}${'requests'.padStart(10)}${'images'.padStart(8)}${'scanned'.padStart(9)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}  verdict`,
      );
      for (const [name, query] of cases) {
        for (let i = 0; i < 3; i++) await page(query); // warm
        const times: number[] = [];
        let last: Page | undefined;
        for (let i = 0; i < requests; i++) {
          const { ms, page: answer } = await page(query);
          times.push(ms);
          last = answer;
        }
        const p50 = percentile(times, 50);
        console.log(
          `${name.padEnd(24)}${String(requests).padStart(10)}${String(last!.data.length).padStart(8)}${String(last!.scanned ?? '').padStart(9)}${p50.toFixed(1).padStart(10)}${percentile(times, 99).toFixed(1).padStart(10)}  ${verdict(p50 <= TARGET_P50_MS)} (p50 ≤ ${TARGET_P50_MS} ms)`,
        );
      }

      // The studio page as a browser first loads it: the shell, its script and its style sheet, gzipped.
      const weigh = async (path: string) => {
        const answer = await fetch(`${host.url}${path}`, { headers: { 'accept-encoding': 'gzip' } });
        const raw = Buffer.from(await answer.arrayBuffer());
        return { path, text: raw.toString(), raw: raw.length, gzipped: gzipSync(raw, { level: 9 }).length };
      };
      const shell = await weigh('/api/studio');
      const files = [
        shell,
        ...(await Promise.all(
          [...shell.text.matchAll(/(?:src|href)="(\/api\/studio\/assets\/[^"]+)"/g)].map((m) => weigh(m[1])),
        )),
      ];
      const total = files.reduce((a, f) => a + f.gzipped, 0);
      const assets = files.slice(1).reduce((a, f) => a + f.gzipped, 0);
      console.log(
        `studio page: ${files.map((f) => `${f.path.split('/').pop()} ${(f.raw / 1024).toFixed(1)} KB (${(f.gzipped / 1024).toFixed(1)} KB gzipped)`).join(', ')}`,
      );
      console.log(
        `studio page transferred: ${(total / 1024).toFixed(1)} KB gzipped; JS + CSS ${(assets / 1024).toFixed(1)} KB ${verdict(assets <= 100 * 1024)} (target ≤ 100 KB)`,
      );
    } finally {
      await host.stop();
    }
  } finally {
    await azurite.stop();
  }

  // Thumbnails from images that weigh what the service's do (seeded noise: the hardest to decode).
  const shapes: [string, number, number, 'png' | 'jpeg'][] = [
    ['1024x1024 PNG', 1024, 1024, 'png'],
    ['1024x1024 JPEG', 1024, 1024, 'jpeg'],
    ['1536x1024 PNG', 1536, 1024, 'png'],
    ['3840x2160 PNG', 3840, 2160, 'png'],
  ];
  await makeThumbnail(renderImage({ prompt: 'warm', width: 64, height: 64, format: 'png' }), 'png'); // loads the codecs
  for (const [name, width, height, format] of shapes) {
    const bytes = renderImage({ prompt: `bench ${name}`, width, height, format, realistic: true });
    const times: number[] = [];
    let size = 0;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      size = (await makeThumbnail(bytes, format)).bytes.length;
      times.push(performance.now() - started);
    }
    console.log(
      `thumbnail of a ${name} (${(bytes.length / 1024 / 1024).toFixed(1)} MB): median ${percentile(times, 50).toFixed(0)} ms, ${size} bytes of WebP`,
    );
  }
}
