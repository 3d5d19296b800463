// The host port forwarded to dom0's sshd: a requested one must be free, 0 means any free one.
import { createServer } from 'node:net';
import { InfraError } from '../errors.js';

const HOST = '127.0.0.1';

/** Checks (or picks) a port on 127.0.0.1 by binding it briefly; QEMU binds it for real next. */
export async function reservePort(requested: number, deadlineMs = 5_000): Promise<number> {
  if (!Number.isInteger(requested) || requested < 0 || requested > 65535) {
    throw new InfraError(`SSH port ${requested} is not a TCP port number`);
  }
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    const timer = setTimeout(() => {
      server.close();
      reject(new InfraError(`could not bind ${HOST}:${requested} within ${deadlineMs} ms`));
    }, deadlineMs);
    server.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound (${err.code ?? err.message})`;
      reject(new InfraError(`SSH port ${requested} on ${HOST} ${why}; choose another port or 0 for a free one`, { cause: err }));
    });
    server.listen({ host: HOST, port: requested, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : requested;
      server.close(() => {
        clearTimeout(timer);
        resolve(port);
      });
    });
  });
}
