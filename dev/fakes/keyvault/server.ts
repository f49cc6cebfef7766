import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { listen } from '../../processes.js';
import { DEV_TENANT_ID, checkBearer } from '../identity/tokens.js';

// A stand-in for the Key Vault secrets data plane, enough for @azure/keyvault-secrets' getSecret:
// the unauthenticated first request gets Key Vault's Bearer challenge, the second carries a token for
// https://vault.azure.net and gets the secret's newest version. HTTPS, as Bearer tokens demand.

export interface KeyVaultStandIn {
  url: string;
  /** Writes a new version, as `az keyvault secret set` does. */
  setSecret(name: string, value: string): void;
  /** GETs of a secret that returned a value. */
  reads: number;
  /** While false, connections are cut: the vault is unreachable. */
  setReachable(reachable: boolean): void;
  close(): Promise<void>;
}

interface Version {
  id: string;
  value: string;
  created: number;
}

export async function startKeyVault(options: {
  cert: string;
  key: string;
  port?: number;
  secrets?: Record<string, string>;
}): Promise<KeyVaultStandIn> {
  const secrets = new Map<string, Version[]>();
  const sockets = new Set<Socket>();
  let reachable = true;
  let url = '';

  const setSecret = (name: string, value: string) => {
    const versions = secrets.get(name) ?? [];
    versions.push({ id: randomUUID().replaceAll('-', ''), value, created: Math.floor(Date.now() / 1000) });
    secrets.set(name, versions);
  };
  for (const [name, value] of Object.entries(options.secrets ?? {})) setSecret(name, value);

  const standIn: KeyVaultStandIn = {
    url: '',
    setSecret,
    reads: 0,
    setReachable(value) {
      reachable = value;
      if (!value) for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };

  const server: Server = createServer({ cert: options.cert, key: options.key }, (req, res) => {
    if (!reachable) return req.socket.destroy();
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };
    const requestUrl = new URL(req.url ?? '/', url);
    if (!requestUrl.searchParams.get('api-version')) {
      return answer(400, { error: { code: 'BadParameter', message: 'The api-version query parameter is required.' } });
    }
    if (!checkBearer(req.headers.authorization, 'https://vault.azure.net')) {
      return answer(
        401,
        { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } },
        {
          'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${DEV_TENANT_ID}", resource="https://vault.azure.net"`,
        },
      );
    }
    const match = /^\/secrets\/([0-9a-zA-Z-]+)\/?([0-9a-f]*)\/?$/.exec(requestUrl.pathname);
    if (req.method !== 'GET' || !match)
      return answer(405, { error: { code: 'BadRequest', message: 'Only getSecret is served here.' } });
    const [, name, versionId] = match;
    const versions = secrets.get(name) ?? [];
    const version = versionId ? versions.find((v) => v.id === versionId) : versions.at(-1);
    if (!version) {
      return answer(404, {
        error: { code: 'SecretNotFound', message: `A secret with (name/id) ${name} was not found in this key vault.` },
      });
    }
    standIn.reads++;
    answer(200, {
      value: version.value,
      id: `${url}/secrets/${name}/${version.id}`,
      attributes: {
        enabled: true,
        created: version.created,
        updated: version.created,
        recoveryLevel: 'Recoverable+Purgeable',
      },
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  url = `https://127.0.0.1:${await listen(server, options.port)}`;
  standIn.url = url;
  return standIn;
}
