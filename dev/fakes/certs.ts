import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

// A self-signed certificate for 127.0.0.1 and localhost: Bearer tokens only travel over HTTPS, so
// Azurite with OAuth and the Key Vault stand-in need one. Made once, kept in a git-ignored folder.

export interface DevCertificate {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
}

export async function devCertificate(folder = join(process.cwd(), '.dev', 'certs')): Promise<DevCertificate> {
  const certPath = join(folder, 'cert.pem');
  const keyPath = join(folder, 'key.pem');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(folder, { recursive: true });
    const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
      notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
      keySize: 2048,
      extensions: [
        { name: 'basicConstraints', cA: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    });
    writeFileSync(keyPath, pems.private, { mode: 0o600 });
    writeFileSync(certPath, pems.cert);
  }
  return { certPath, keyPath, cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}
