// connectDom0 against a real dropbear: waiting for a server that is not up yet, giving up
// at the deadline with the last reason, refusing a changed host key.
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { reservePort } from '../../../src/machine/index.js';
import { connectDom0, HostKeyChanged, HostKeyPin, SshUnreachable, type Dom0Ssh } from '../../../src/ssh/index.js';
import { createLogin, Dropbear, makeHostKey, type HostKey, type TestLogin } from '../../support/dropbear.js';

let login: TestLogin;
let keyA: HostKey;
let keyB: HostKey;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  login = await createLogin();
  keyA = await makeHostKey(login.dir, 'host-a');
  keyB = await makeHostKey(login.dir, 'host-b');
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await login?.remove();
});

async function server(port: number, key: HostKey): Promise<Dropbear> {
  const dropbear = new Dropbear(port, key, `${login.dir}/dropbear-${port}-${key === keyA ? 'a' : 'b'}.log`);
  cleanups.push(() => dropbear.stop());
  return dropbear;
}

function keep(ssh: Dom0Ssh): Dom0Ssh {
  cleanups.push(() => ssh.close());
  return ssh;
}

describe('connectDom0', () => {
  it('keeps trying until a server that starts late answers, and pins its key', async () => {
    const port = await reservePort(0);
    const dropbear = await server(port, keyA);
    const later = setTimeout(() => void dropbear.start(), 1_500);
    cleanups.push(async () => clearTimeout(later));

    const started = performance.now();
    const ssh = keep(
      await connectDom0({ host: '127.0.0.1', port, username: login.username, privateKey: login.privateKey, deadline: 20_000 }),
    );
    expect(performance.now() - started).toBeGreaterThan(1_400);
    expect(ssh.connected).toBe(true);
    expect(ssh.hostKey).toBe(keyA.fingerprint);
    expect((await ssh.exec('echo up', { deadline: 10_000 })).stdout).toBe('up\n');
  });

  it('gives up at the deadline and names the last failure', async () => {
    const port = await reservePort(0);
    const started = performance.now();
    const err = await connectDom0({
      host: '127.0.0.1',
      port,
      username: login.username,
      privateKey: login.privateKey,
      deadline: 1_500,
    }).catch((e: unknown) => e);
    const took = performance.now() - started;

    expect(err).toBeInstanceOf(SshUnreachable);
    expect((err as Error).message).toMatch(new RegExp(`did not log in within \\d+ ms \\(\\d+ attempts\\); last failure: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    expect((err as SshUnreachable).attempts.length).toBeGreaterThan(1);
    expect(took).toBeGreaterThan(1_400);
    expect(took).toBeLessThan(3_500);
  });

  it('bounds each attempt when the port accepts and never speaks, as hostfwd does before sshd runs', async () => {
    // QEMU's user-net hostfwd: TCP is accepted on the host, nothing answers behind it.
    const held: Socket[] = [];
    const silent: Server = createServer((socket) => held.push(socket));
    const port = await new Promise<number>((resolve) =>
      silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)),
    );
    cleanups.push(
      () =>
        new Promise((resolve) => {
          for (const socket of held) socket.destroy();
          silent.close(resolve);
        }),
    );

    const started = performance.now();
    const err = await connectDom0({
      host: '127.0.0.1',
      port,
      username: login.username,
      privateKey: login.privateKey,
      deadline: 2_500,
      attemptTimeoutMs: 600,
    }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SshUnreachable);
    expect((err as Error).message).toMatch(/last failure: Timed out while waiting for handshake/);
    expect((err as SshUnreachable).attempts.length).toBeGreaterThanOrEqual(2);
    expect(performance.now() - started).toBeLessThan(4_500);
  });

  it('stops early when the server answers but refuses the key', async () => {
    const port = await reservePort(0);
    await (await server(port, keyA)).start();
    const started = performance.now();
    const err = await connectDom0({
      host: '127.0.0.1',
      port,
      username: login.username,
      privateKey: login.strangerKey,
      deadline: 60_000,
    }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SshUnreachable);
    expect((err as Error).message).toMatch(/refused the run's key 3 times in a row .*authentication failed/);
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('refuses a reconnect that meets a different host key, naming both', async () => {
    const port = await reservePort(0);
    const first = await server(port, keyA);
    await first.start();
    const ssh = keep(
      await connectDom0({ host: '127.0.0.1', port, username: login.username, privateKey: login.privateKey, deadline: 10_000 }),
    );
    expect(ssh.hostKey).toBe(keyA.fingerprint);

    // The same server again: the pin holds and the reconnect works.
    await ssh.reconnect(10_000);
    expect((await ssh.exec('echo again', { deadline: 10_000 })).stdout).toBe('again\n');

    await first.stop();
    await (await server(port, keyB)).start();
    const err = await ssh.reconnect(10_000).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(HostKeyChanged);
    expect((err as Error).message).toContain(`pinned ${keyA.fingerprint}, now presented ${keyB.fingerprint}`);
    expect(ssh.connected).toBe(false);

    // A pin handed to a new connection is enforced the same way.
    const pin = new HostKeyPin();
    pin.pin(keyA.fingerprint);
    const again = await connectDom0({
      host: '127.0.0.1',
      port,
      username: login.username,
      privateKey: login.privateKey,
      deadline: 10_000,
      hostKey: pin,
    }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(HostKeyChanged);
  });
});
