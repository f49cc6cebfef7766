import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { inject } from 'vitest';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../dev/fakes/emulator/index.js';
import { startHostProcess, type HostProcess } from '../../dev/fakes/host/process.js';

// The offline stack for one test file: the shared Azurite, an emulator and a host of its own,
// and containers no other file touches.

export const API_KEY = `test-key-${randomBytes(12).toString('hex')}`;

/** What the stack's webhooks are signed with. */
export const WEBHOOK_KEY = `whsec_${randomBytes(24).toString('base64')}`;

/** The emulated account's deployments, and the app's: one of each current model. */
export const DEPLOYMENTS = { 'gpt-image-2': 'gpt-image-2', hq: 'gpt-image-1.5', mini: 'gpt-image-1-mini' };
/** The same, as AZURE_OPENAI_DEPLOYMENTS says it. */
export const DEPLOYMENTS_SETTING = Object.entries(DEPLOYMENTS)
  .map(([name, model]) => `${name}=${model}`)
  .join(',');

export interface Answer {
  status: number;
  headers: Headers;
  json: any;
  text: string;
}

export interface Stack {
  emulator: OpenAIEmulator;
  host: HostProcess;
  container: string;
  blobs: BlobServiceClient;
  settings: Record<string, string>;
  /** Every answer body this file saw, for the no-secrets checks. */
  answers: string[];
  /** A second instance of the app: another host process with the same settings (the same storage). */
  anotherHost(settings?: Record<string, string>): Promise<HostProcess>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Answer>;
  get(path: string): Promise<Answer>;
  delete(path: string): Promise<Answer>;
  /** The images and records in a container (thumbnails left out: the queue makes them later). */
  blobNames(container?: string): Promise<string[]>;
  readBlob(name: string, container?: string): Promise<Buffer>;
  stop(): Promise<void>;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface StackOptions {
  extraCaCerts?: string;
  /** Another Azurite than the shared one: for tests of the queues, which have fixed names. */
  connectionString?: string;
}

export async function startStack(
  settings: Record<string, string | undefined> = {},
  options: StackOptions = {},
): Promise<Stack> {
  const connectionString = options.connectionString ?? inject('azurite').connectionString;
  const emulator = await startOpenAIEmulator({ apiKeys: [API_KEY], deployments: DEPLOYMENTS });
  const container = uniqueName('images');
  const all: Record<string, string> = {
    AzureWebJobsStorage: connectionString,
    AZURE_OPENAI_ENDPOINT: emulator.url,
    AZURE_OPENAI_API_KEY: API_KEY,
    AZURE_OPENAI_DEPLOYMENTS: DEPLOYMENTS_SETTING,
    AZURE_OPENAI_MAX_RETRIES: '1',
    AZURE_OPENAI_TIMEOUT_SECONDS: '2',
    IMAGES_CONTAINER: container,
    JOBS_CONTAINER: uniqueName('jobs'),
    WEBHOOK_SIGNING_KEY: WEBHOOK_KEY,
    WEBHOOK_CALLBACKS: 'local',
    CALLER_KEYS_TABLE: uniqueName('keys').replaceAll('-', ''),
    USAGE_TABLE: uniqueName('usage').replaceAll('-', ''),
  };
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined) delete all[name];
    else all[name] = value;
  }
  const host = await startHostProcess(all, options);
  const blobs = BlobServiceClient.fromConnectionString(connectionString);
  const answers: string[] = [];
  const others: HostProcess[] = [];
  // With LOCAL_FUNCTION_KEY the host checks keys as Azure does; the stack's calls carry it.
  const key: Record<string, string> = all.LOCAL_FUNCTION_KEY ? { 'x-functions-key': all.LOCAL_FUNCTION_KEY } : {};
  const read = async (response: Response): Promise<Answer> => {
    const text = await response.text();
    answers.push(text, JSON.stringify([...response.headers]));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, json, text };
  };

  return {
    emulator,
    host,
    container,
    blobs,
    settings: all,
    answers,
    async anotherHost(settings = {}) {
      const other = await startHostProcess({ ...all, ...settings }, options);
      others.push(other);
      return other;
    },
    async post(path, body, headers = {}) {
      const payload =
        typeof body === 'string' ? body : body instanceof Uint8Array ? Buffer.from(body) : JSON.stringify(body);
      return read(
        await fetch(`${host.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...key, ...headers },
          body: payload,
        }),
      );
    },
    async get(path) {
      return read(await fetch(path.startsWith('http') ? path : `${host.url}${path}`, { headers: key }));
    },
    async delete(path) {
      return read(
        await fetch(path.startsWith('http') ? path : `${host.url}${path}`, { method: 'DELETE', headers: key }),
      );
    },
    async blobNames(name = container) {
      const client = blobs.getContainerClient(name);
      if (!(await client.exists())) return [];
      const names: string[] = [];
      // Thumbnails come from a queue, seconds after their image: what a request stored is its images and records.
      for await (const blob of client.listBlobsFlat()) if (!blob.name.endsWith('.thumb.webp')) names.push(blob.name);
      return names.sort();
    },
    async readBlob(name, containerName = container) {
      return blobs.getContainerClient(containerName).getBlobClient(name).downloadToBuffer();
    },
    async stop() {
      await Promise.all([host, ...others].map((h) => h.stop()));
      await emulator.close();
    },
  };
}
