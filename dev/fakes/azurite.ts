import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, stopChild } from '../processes.js';

// Azurite, the real Storage emulator, started as a child process with the flags measured in
// ../shared/LOCAL-AZURE.md: the SDK's api-version is newer than Azurite knows, and telemetry
// would try to reach the internet.

export const DEV_ACCOUNT = 'devstoreaccount1';
/** Azurite's published well-known development key: not a secret. */
export const DEV_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  /** Keeps data across restarts; in memory when absent. */
  location?: string;
  /** 0 (default) picks free ports. */
  blobPort?: number;
  queuePort?: number;
  tablePort?: number;
  /** HTTPS with OAuth: identity-based access, as in production. */
  oauth?: { certPath: string; keyPath: string };
  silent?: boolean;
}

export interface Azurite {
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
  /** A connection string with the account key (not for the OAuth mode). */
  connectionString: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const blobPort = options.blobPort || (await freePort());
  const queuePort = options.queuePort || (await freePort());
  const tablePort = options.tablePort || (await freePort());
  const args = [
    require.resolve('azurite/dist/src/azurite.js'),
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    String(blobPort),
    '--queueHost',
    '127.0.0.1',
    '--queuePort',
    String(queuePort),
    '--tableHost',
    '127.0.0.1',
    '--tablePort',
    String(tablePort),
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--loose',
    '--silent',
    ...(options.location ? ['--location', options.location] : ['--inMemoryPersistence']),
    ...(options.oauth ? ['--oauth', 'basic', '--cert', options.oauth.certPath, '--key', options.oauth.keyPath] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const scheme = options.oauth ? 'https' : 'http';
  const blobEndpoint = `${scheme}://127.0.0.1:${blobPort}/${DEV_ACCOUNT}`;
  const queueEndpoint = `${scheme}://127.0.0.1:${queuePort}/${DEV_ACCOUNT}`;
  const tableEndpoint = `${scheme}://127.0.0.1:${tablePort}/${DEV_ACCOUNT}`;

  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!options.silent) process.stdout.write(`[azurite] ${chunk.toString()}`);
      // Azurite prints one line per service once it listens.
      if ((output.match(/successfully listening/g) ?? []).length >= 3) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`Azurite exited with ${code} before it listened:\n${output}`)));
  });

  return {
    blobEndpoint,
    queueEndpoint,
    tableEndpoint,
    connectionString:
      `DefaultEndpointsProtocol=${scheme};AccountName=${DEV_ACCOUNT};AccountKey=${DEV_ACCOUNT_KEY};` +
      `BlobEndpoint=${blobEndpoint};QueueEndpoint=${queueEndpoint};TableEndpoint=${tableEndpoint};`,
    process: child,
    stop: () => stopChild(child),
  };
}
