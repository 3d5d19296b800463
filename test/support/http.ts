// A loopback HTTP server for tests that fetch over the network: real sockets, real HTTP.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';

export interface Loopback {
  server: Server;
  /** http://127.0.0.1:<port>, without a trailing slash. */
  base: string;
  close(): Promise<void>;
}

export async function listenLoopback(handler: RequestListener): Promise<Loopback> {
  const server = createServer(handler);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return {
    server,
    base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((res) => server.close(res));
    },
  };
}

/** Sends the regular file at `root` + the URL path (decoded), or 404: never a file outside `root`. */
export function serveFile(res: ServerResponse, root: string, urlPath: string): void {
  const file = join(root, decodeURIComponent(urlPath));
  if (!file.startsWith(root + '/')) return void res.writeHead(404).end();
  stat(file).then(
    (st) => {
      if (!st.isFile()) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': st.size });
      createReadStream(file).pipe(res);
    },
    () => res.writeHead(404).end(),
  );
}
