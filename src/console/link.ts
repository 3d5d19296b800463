// Adapts a serial port that offers subscribe/write (machine/'s SerialPort) to the Duplex the
// Console reads, so console/ needs no machine/ import and machine/ keeps owning the socket.
import { Duplex } from 'node:stream';

/** The structural shape of machine/'s SerialPort that the Console needs. */
export interface SerialLike {
  subscribe(listener: (chunk: Buffer) => void): () => void;
  write(data: Buffer): Promise<void>;
  /** Bytes received before subscribing; replayed first so nothing is lost to a late start. */
  captured?(): Buffer;
}

/**
 * A Duplex over `port`: reads are its chunks from now on (after what it captured already),
 * writes go to it, and the read side ends when `ended` settles (the machine exited).
 */
export function serialDuplex(port: SerialLike, ended: Promise<unknown>): Duplex {
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      port.write(chunk).then(() => callback(), callback);
    },
    destroy(err, callback) {
      unsubscribe();
      callback(err);
    },
  });
  const earlier = port.captured?.();
  // Capture and subscribe in the same turn: no chunk can fall between them.
  if (earlier && earlier.length > 0) duplex.push(earlier);
  const unsubscribe = port.subscribe((chunk) => duplex.push(chunk));
  const finish = () => {
    unsubscribe();
    if (!duplex.destroyed) duplex.push(null);
  };
  ended.then(finish, finish);
  return duplex;
}
