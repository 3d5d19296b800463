// dom0's host key, pinned for the whole run: the first key that completes a login is the
// only one any later connection may present. dom0 makes its key at boot (`dropbear -R`),
// so there is no known_hosts to check against; trust on first use is the best we can do,
// and a change afterwards means dom0 rebooted or something else answers on the port.
import { createHash } from 'node:crypto';
import { InfraError } from '../errors.js';

/** OpenSSH's notation: `SHA256:` and the unpadded base64 of the key blob's digest. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name that opens an SSH public key blob (e.g. `ssh-ed25519`). */
export function algorithmOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const length = keyBlob.readUInt32BE(0);
  if (length === 0 || length > 64 || keyBlob.length < 4 + length) return 'unknown';
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

/** Thrown by a connection attempt that met a key other than the pinned one; never retried. */
export class HostKeyChanged extends InfraError {
  override name = 'HostKeyChanged';
  constructor(
    readonly endpoint: string,
    readonly pinned: string,
    readonly presented: string,
  ) {
    super(
      `host key of ${endpoint} changed during the run: pinned ${pinned}, now presented ${presented} ` +
        '(dom0 rebooted and made a new key, or another server answers on that port)',
    );
  }
}

export class HostKeyPin {
  private pinnedKey: string | undefined;

  /** The pinned key as `<algorithm> SHA256:…`, once a login succeeded. */
  get fingerprint(): string | undefined {
    return this.pinnedKey;
  }

  /** `<algorithm> SHA256:…` of a key blob, the form pins are kept and compared in. */
  static describe(keyBlob: Buffer): string {
    return `${algorithmOf(keyBlob)} ${fingerprintOf(keyBlob)}`;
  }

  /** Whether a presented key may be used: any before the pin is set, only the same one after. */
  admits(presented: string): boolean {
    return this.pinnedKey === undefined || this.pinnedKey === presented;
  }

  /** Pins the key of the first connection that logged in; later calls keep the first. */
  pin(presented: string): void {
    this.pinnedKey ??= presented;
  }
}
