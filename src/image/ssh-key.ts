// The per-run SSH key pair: the private half stays in the run's work dir, the public half
// goes into dom0's /root/.ssh/authorized_keys through an archive appended to its ramdisk.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { utils } from 'ssh2';

export interface SshKeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
  publicKey: string;
}

export async function writeRunKeyPair(workDir: string, comment = 'xen-pvh-virtio run key'): Promise<SshKeyPair> {
  // OpenSSH-format keys, which both ssh2 and OpenSSH's ssh read.
  const pair = parseableKeyPair(comment);
  const privateKeyPath = join(workDir, 'id_ed25519');
  const publicKeyPath = `${privateKeyPath}.pub`;
  // Removed first so the 0600 mode applies to a fresh file, never to an old one.
  await rm(privateKeyPath, { force: true });
  await writeFile(privateKeyPath, pair.private, { mode: 0o600 });
  await writeFile(publicKeyPath, `${pair.public.trim()}\n`, { mode: 0o644 });
  return { privateKeyPath, publicKeyPath, publicKey: pair.public.trim() };
}

/**
 * ssh2 1.17's generator drops the leading zero bytes of an ed25519 public key, so about one
 * pair in 256 has a 31-byte key that neither ssh2 nor dropbear accepts ("Malformed OpenSSH
 * private key": a run then waits out its whole SSH deadline). Such a pair is discarded and
 * another generated; any valid pair serves a throwaway run key.
 */
export function parseableKeyPair(comment: string): { private: string; public: string } {
  for (let attempt = 0; attempt < 16; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', { comment });
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)) return pair;
  }
  throw new Error('ssh2 generated 16 ed25519 key pairs in a row that it cannot parse');
}
