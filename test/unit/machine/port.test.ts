import { createServer, type Server } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { InfraError } from '../../../src/errors.js';
import { reservePort } from '../../../src/machine/port.js';

let holder: Server | undefined;
afterEach(() => holder?.close());

it('picks a free loopback port for 0', async () => {
  const port = await reservePort(0);
  expect(port).toBeGreaterThan(0);
  expect(await reservePort(port)).toBe(port);
});

it('names a busy port in a clear InfraError', async () => {
  holder = createServer();
  const port = await new Promise<number>((resolve) => holder!.listen(0, '127.0.0.1', () => resolve((holder!.address() as { port: number }).port)));
  const err = await reservePort(port).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InfraError);
  expect((err as Error).message).toBe(`SSH port ${port} on 127.0.0.1 is already in use; choose another port or 0 for a free one`);
});
