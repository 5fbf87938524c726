import { Socket } from "node:net";

/** What postgres.js passes a `socket` factory: its parsed connection options. */
interface ConnectionTarget {
  host: string[];
  port: number[];
  path: string | false | undefined;
}

/**
 * Sockets for the postgres.js pool with Nagle's algorithm off, as libpq and node-postgres have
 * them (postgres.js leaves it on). With it on, a message written in two pieces — a COPY's rows,
 * then its end — waits for the server's delayed acknowledgement of the first, 40 ms on Linux,
 * every time: an import's COPY a batch paid it twice.
 *
 * `socket` is an option postgres.js reads but does not declare in its types. It treats the socket
 * it is given as connected; one returned while still connecting works the same, since writes wait
 * for the connection and a refused or hanging connection reaches postgres.js's own error, close
 * and connect-timeout handling as its own socket's would. Several hosts are tried in turn, as
 * postgres.js does; a Unix socket path is used as it is. Pinned by postgres-socket.test.ts.
 */
export function noDelaySockets(): (target: ConnectionTarget) => Socket {
  let next = 0;
  return ({ host, port, path }) => {
    const socket = new Socket();
    socket.setNoDelay(true);
    if (path) return socket.connect(path);
    const at = next++ % Math.max(1, port.length);
    // postgres.js names the host and port of a socket in its connection errors
    Object.assign(socket, { host: host[at], port: port[at] });
    return socket.connect(port[at]!, host[at]!);
  };
}
