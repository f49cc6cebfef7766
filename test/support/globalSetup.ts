import type { TestProject } from 'vitest/node';
import { startAzurite, type Azurite } from '../../dev/fakes/azurite.js';
import { devCertificate } from '../../dev/fakes/certs.js';

// One Azurite for the whole run (each test file uses its own containers and queues), and the
// development certificate the HTTPS stand-ins need.

let azurite: Azurite | undefined;

export default async function setup(project: TestProject) {
  const cert = await devCertificate();
  // Test workers start after this: they trust the HTTPS stand-ins and Azurite's OAuth endpoint.
  process.env.NODE_EXTRA_CA_CERTS = cert.certPath;
  azurite = await startAzurite({ silent: true });
  project.provide('azurite', {
    connectionString: azurite.connectionString,
    blobEndpoint: azurite.blobEndpoint,
    queueEndpoint: azurite.queueEndpoint,
  });
  project.provide('cert', { certPath: cert.certPath, keyPath: cert.keyPath });
  return async () => {
    await azurite?.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    azurite: { connectionString: string; blobEndpoint: string; queueEndpoint: string };
    cert: { certPath: string; keyPath: string };
  }
}
