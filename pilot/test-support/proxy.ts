import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  request,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback in front of the emulator, which a test can cut off and restore:
 * while it is down, connections are refused, as for an unreachable endpoint.
 */
export class SwitchableProxy {
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;
  port = 0;

  constructor(private readonly targetPort: number) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts listening (on the same port as before, after `down()`). */
  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening and cuts every open connection. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A loopback port nothing listens on: connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * An HTTP proxy on loopback in front of the emulator that can hold requests back: while
 * holding, the requests `held` matches wait (unanswered, as behind a slow store) until
 * `release()` forwards them; everything else goes straight through.
 */
export class HoldingProxy {
  readonly #parked: (() => void)[] = [];
  #holding = false;
  #server: HttpServer | null = null;
  /** Requests held so far, as `METHOD path`. */
  readonly heldRequests: string[] = [];

  constructor(
    private readonly targetPort: number,
    private readonly held: (request: IncomingMessage) => boolean,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    const server = createHttpServer((incoming, answer) => {
      const forward = () => {
        const upstream = request(
          {
            host: '127.0.0.1',
            port: this.targetPort,
            method: incoming.method,
            path: incoming.url,
            headers: incoming.headers,
          },
          (response) => {
            answer.writeHead(response.statusCode ?? 502, response.headers);
            response.pipe(answer);
          },
        );
        upstream.on('error', () => answer.destroy());
        incoming.pipe(upstream);
      };
      if (this.#holding && this.held(incoming)) {
        this.heldRequests.push(`${incoming.method} ${incoming.url}`);
        this.#parked.push(forward);
      } else {
        forward();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
  }

  hold(): void {
    this.#holding = true;
  }

  /** Stops holding and forwards what was held. */
  release(): void {
    this.#holding = false;
    for (const forward of this.#parked.splice(0)) forward();
  }

  async stop(): Promise<void> {
    this.release();
    const server = this.#server;
    this.#server = null;
    server?.closeAllConnections();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
