#!/usr/bin/env node
// Puts a batch of prompts on the image-requests queue and waits for their answers on image-results.
//
//   node examples/event-driven/enqueue-batch.mjs "A lighthouse at dusk" "A paper boat" [--model gpt-image-1] [--body '{"size":"1024x1024"}']
//
// Storage: AZURE_STORAGE_CONNECTION_STRING (default UseDevelopmentStorage=true: Azurite, as `npm start`
// runs it), or AZURE_STORAGE_QUEUE_URL (https://<account>.queue.core.windows.net) with DefaultAzureCredential
// (the identity needs "Storage Queue Data Contributor"). TIMEOUT_SECONDS (default 600) bounds the wait.
//
// Messages are plain JSON (host.json: messageEncoding "none"). Each request carries an id, so a message
// handled twice never generates twice, and its answer can be told apart from other producers' answers:
// this script deletes only the results whose ids it sent and leaves every other message on the queue.

import { randomBytes } from 'node:crypto';
import { QueueServiceClient } from '@azure/storage-queue';

const REQUESTS = 'image-requests';
const RESULTS = 'image-results';
const DEFAULT_PROMPTS = ['A lighthouse at dusk, watercolour', 'A paper boat on a puddle, macro photograph', 'A fox in the snow, woodcut print'];

/** How long a result that is not ours stays hidden while one scan of the queue runs past it. */
const SCAN_VISIBILITY_SECONDS = 30;
/** Batches of 32 (the service's maximum) read in one scan before the others are released. */
const MAX_BATCHES_PER_SCAN = 20;
const POLL_INTERVAL_MS = 2000;

function parseArgs(argv) {
  const prompts = [];
  const body = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--model') body.model = argv[++i];
    else if (arg === '--body') Object.assign(body, JSON.parse(argv[++i]));
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: enqueue-batch.mjs [prompt ...] [--model <deployment>] [--body <json of more request fields>]');
      process.exit(0);
    } else prompts.push(arg);
  }
  return { prompts: prompts.length > 0 ? prompts : DEFAULT_PROMPTS, body };
}

async function queueService() {
  const connectionString = process.env.AZURE_STORAGE_CONNECTION_STRING;
  const queueUrl = process.env.AZURE_STORAGE_QUEUE_URL;
  if (!connectionString && queueUrl) {
    const { DefaultAzureCredential } = await import('@azure/identity');
    return new QueueServiceClient(queueUrl, new DefaultAzureCredential());
  }
  return QueueServiceClient.fromConnectionString(connectionString || 'UseDevelopmentStorage=true');
}

const parse = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/**
 * One pass over image-results: our results are kept and deleted; the others are hidden for the scan
 * (so the next batch reaches past them) and then made visible again at once.
 */
async function scan(results, pending, answers) {
  const others = [];
  try {
    for (let batch = 0; batch < MAX_BATCHES_PER_SCAN && pending.size > 0; batch++) {
      const { receivedMessageItems: items } = await results.receiveMessages({ numberOfMessages: 32, visibilityTimeout: SCAN_VISIBILITY_SECONDS });
      if (items.length === 0) break;
      for (const item of items) {
        const result = parse(item.messageText);
        const id = result?.id;
        if (typeof id === 'string' && (pending.has(id) || answers.has(id))) {
          if (pending.delete(id)) answers.set(id, result);
          // A duplicate answer (a request handled again) is ours too: it goes as well.
          await results.deleteMessage(item.messageId, item.popReceipt);
        } else {
          others.push(item);
        }
      }
    }
  } finally {
    await Promise.allSettled(others.map((item) => results.updateMessage(item.messageId, item.popReceipt, undefined, 0)));
  }
}

function describe(result) {
  if (!result) return { status: 'pending', detail: 'no answer yet' };
  if (result.status === 'succeeded') {
    const urls = (result.data ?? []).map((image) => image.url ?? `(base64, ${image.storage?.blob ?? 'not stored'})`);
    return { status: result.status, detail: urls.join(' ') };
  }
  const error = result.error ?? {};
  return { status: result.status, detail: `${error.code ?? 'error'}: ${error.message ?? ''}`.trim() };
}

function printTable(rows) {
  const header = { id: 'id', status: 'status', detail: 'url / error' };
  const widths = { id: Math.max(2, ...rows.map((r) => r.id.length)), status: Math.max(6, ...rows.map((r) => r.status.length)) };
  for (const row of [header, ...rows]) console.log(`${row.id.padEnd(widths.id)}  ${row.status.padEnd(widths.status)}  ${row.detail}`);
}

async function main() {
  const { prompts, body } = parseArgs(process.argv.slice(2));
  const service = await queueService();
  const requests = service.getQueueClient(REQUESTS);
  const results = service.getQueueClient(RESULTS);
  await Promise.all([requests.createIfNotExists(), results.createIfNotExists()]);

  // Ids: 1 to 64 letters, digits, - or _, never reused.
  const batch = `batch-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const ids = prompts.map((_, i) => `${batch}-${i + 1}`);
  for (const [i, prompt] of prompts.entries()) {
    await requests.sendMessage(JSON.stringify({ ...body, id: ids[i], prompt }));
  }
  console.log(`Sent ${ids.length} request(s) to ${REQUESTS} on ${requests.url.replace(/\?.*$/, '')}; waiting on ${RESULTS}...`);

  const pending = new Set(ids);
  const answers = new Map();
  const deadline = Date.now() + Number(process.env.TIMEOUT_SECONDS ?? 600) * 1000;
  while (pending.size > 0 && Date.now() < deadline) {
    await scan(results, pending, answers);
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }

  const rows = ids.map((id) => ({ id, ...describe(answers.get(id)) }));
  printTable(rows);
  if (pending.size > 0) console.error(`Timed out waiting for ${pending.size} answer(s); they may still arrive on ${RESULTS}.`);
  process.exitCode = rows.every((r) => r.status === 'succeeded') ? 0 : 1;
}

main().catch((err) => {
  console.error(`enqueue-batch failed: ${err.message}`);
  process.exit(2);
});
