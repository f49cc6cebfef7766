#!/usr/bin/env node
// Puts a batch of prompts on the image-requests queue and collects their answers on a reply queue of its
// own, which no other producer shares.
//
//   node examples/event-driven/enqueue-batch.mjs "A lighthouse at dusk" "A paper boat" [--model mini] [--body '{"size":"1024x1024"}']
//
// Storage: AZURE_STORAGE_CONNECTION_STRING (default UseDevelopmentStorage=true: Azurite, as `npm start`
// runs it), or AZURE_STORAGE_QUEUE_URL (https://<account>.queue.core.windows.net) with DefaultAzureCredential
// (the identity needs "Storage Queue Data Contributor"). TIMEOUT_SECONDS (default 600) bounds the wait.
//
// Each request names its reply queue (`result_queue`): the app puts the answer there, and nowhere else.
// Each carries an id too, so a message handled twice never generates twice.

import { randomBytes } from 'node:crypto';
import { QueueServiceClient } from '@azure/storage-queue';

const REQUESTS = 'image-requests';
const DEFAULT_PROMPTS = [
  'A lighthouse at dusk, watercolour',
  'A paper boat on a puddle, macro photograph',
  'A fox in the snow, woodcut print',
];
const POLL_INTERVAL_MS = 2000;

function parseArgs(argv) {
  const prompts = [];
  const body = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--model') body.model = argv[++i];
    else if (arg === '--body') Object.assign(body, JSON.parse(argv[++i]));
    else if (arg === '--help' || arg === '-h') {
      console.log(
        'usage: enqueue-batch.mjs [prompt ...] [--model <deployment>] [--body <json of more request fields>]',
      );
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

function describe(result) {
  if (!result) return { status: 'pending', detail: 'no answer yet' };
  if (result.status === 'succeeded')
    return { status: result.status, detail: (result.data ?? []).map((image) => image.url).join(' ') };
  const error = result.error ?? {};
  return { status: result.status, detail: `${error.code ?? 'error'}: ${error.message ?? ''}`.trim() };
}

function printTable(rows) {
  const header = { id: 'id', status: 'status', detail: 'url / error' };
  const widths = {
    id: Math.max(2, ...rows.map((r) => r.id.length)),
    status: Math.max(6, ...rows.map((r) => r.status.length)),
  };
  for (const row of [header, ...rows])
    console.log(`${row.id.padEnd(widths.id)}  ${row.status.padEnd(widths.status)}  ${row.detail}`);
}

async function main() {
  const { prompts, body } = parseArgs(process.argv.slice(2));
  const service = await queueService();
  const requests = service.getQueueClient(REQUESTS);
  // Ids and queue names: letters, digits and hyphens, never reused.
  const batch = `batch-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const replies = service.getQueueClient(`replies-${batch}`);
  await Promise.all([requests.createIfNotExists(), replies.createIfNotExists()]);

  const ids = prompts.map((_, i) => `${batch}-${i + 1}`);
  for (const [i, prompt] of prompts.entries()) {
    await requests.sendMessage(JSON.stringify({ ...body, id: ids[i], prompt, result_queue: replies.name }));
  }
  console.log(`Sent ${ids.length} request(s) to ${REQUESTS}; waiting on ${replies.name}...`);

  const answers = new Map();
  const deadline = Date.now() + Number(process.env.TIMEOUT_SECONDS ?? 600) * 1000;
  try {
    while (answers.size < ids.length && Date.now() < deadline) {
      const { receivedMessageItems: items } = await replies.receiveMessages({ numberOfMessages: 32 });
      for (const item of items) {
        const result = JSON.parse(item.messageText);
        answers.set(result.id, result);
        await replies.deleteMessage(item.messageId, item.popReceipt);
      }
      if (items.length === 0) await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  } finally {
    // The reply queue is this batch's alone: it goes with it, unless answers are still missing.
    if (answers.size === ids.length) await replies.delete();
  }

  const rows = ids.map((id) => ({ id, ...describe(answers.get(id)) }));
  printTable(rows);
  if (answers.size < ids.length)
    console.error(`Timed out waiting for ${ids.length - answers.size} answer(s); they will arrive on ${replies.name}.`);
  process.exitCode = rows.every((r) => r.status === 'succeeded') ? 0 : 1;
}

main().catch((err) => {
  console.error(`enqueue-batch failed: ${err.message}`);
  process.exit(2);
});
