// The server side of a node: peers' WebSockets on /raft, clients' WebSockets on /client, and
// plain HTTP for /metrics, /debug/raft and the control channel. Two implementations behind one
// interface: uWebSockets.js (the default; native build required, see uws-native.ts) and `ws` on
// node:http (`--transport ws`, explicit, for platforms with no native uWS build).
//
// The server knows nothing of Raft or of the handshake: it hands each socket to the handlers of
// its route. A received message's bytes are valid only during the handler call (uWS reuses its
// buffer), so a handler decodes or copies before it returns.

import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type * as Uws from 'uWebSockets.js';
import WebSocket, { WebSocketServer } from 'ws';
import type { Conn } from './connection.js';
import { WsConn, newConnId, toBytes } from './connection.js';
import { TransportConfigError } from './errors.js';
import { bufferutilLoaded, loadNativeUws, packageVersion } from './uws-native.js';

export type ServerKind = 'uws' | 'ws';

export interface SocketHandlers {
  open(conn: Conn): void;
  // data is valid only during the call.
  message(conn: Conn, data: Uint8Array): void;
  // The socket's backlog fell below the drain mark: send more.
  drain(conn: Conn): void;
  close(conn: Conn, code: number, reason: string): void;
}

export interface HttpReply {
  readonly status?: number;
  readonly contentType?: string;
  readonly body: string | Uint8Array;
}

export type HttpGetHandler = () => HttpReply;
// body is a copy the handler may keep.
export type HttpPostHandler = (body: Uint8Array) => HttpReply;

export interface ServerOptions {
  readonly kind: ServerKind;
  readonly host: string;
  // 0 picks a free port; read it back from PeerServer.port.
  readonly port: number;
  readonly peer: SocketHandlers;
  readonly client?: SocketHandlers;
  readonly peerPath?: string;
  readonly clientPath?: string;
  readonly httpGet?: Readonly<Record<string, HttpGetHandler>>;
  readonly httpPost?: Readonly<Record<string, HttpPostHandler>>;
  // Messages larger than this close their connection (the WebSocket library enforces it); the
  // transport drops smaller frames over its own, lower limit without closing.
  readonly messageBytesMax: number;
  // Backlog per socket below which drain() is called (ws) / above which uWS reports backpressure.
  readonly drainBytes?: number;
  readonly httpBodyBytesMax?: number;
  // A socket with no traffic and no pong for this long is closed (pings are sent automatically).
  readonly idleTimeoutS?: number;
  readonly log?: (msg: string) => void;
}

export interface ServerInfo {
  readonly kind: ServerKind;
  // e.g. "uWebSockets.js 20.30.0-unofficial.0 (@trufflesuite/uws-js-unofficial, native uws_linux_x64_115.node)"
  readonly implementation: string;
  readonly native: boolean;
  // The peer dialer's library, e.g. "ws 8.18.3 + bufferutil".
  readonly dialer: string;
  readonly node: string;
}

export interface PeerServer {
  readonly kind: ServerKind;
  readonly host: string;
  readonly port: number;
  readonly info: ServerInfo;
  connectionCount(): number;
  close(): Promise<void>;
}

const defaultPeerPath = '/raft';
const defaultClientPath = '/client';
const defaultDrainBytes = 1 << 20;
const defaultHttpBodyBytesMax = 1 << 20;
const defaultIdleTimeoutS = 16;

export const closeCodeGoingAway = 1001;

export async function createServer(opts: ServerOptions): Promise<PeerServer> {
  if (!(opts.messageBytesMax > 0)) throw new TransportConfigError(`messageBytesMax must be positive, got ${opts.messageBytesMax}`);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new TransportConfigError(`bad port ${opts.port}`);
  switch (opts.kind) {
    case 'uws':
      return createUwsServer(opts);
    case 'ws':
      return createWsServer(opts);
    default: {
      const unreachable: never = opts.kind;
      throw new TransportConfigError(`unknown transport '${String(unreachable)}' (expected uws or ws)`);
    }
  }
}

export function dialerDescription(): string {
  return `ws ${packageVersion('ws') ?? '?'}${bufferutilLoaded() ? ` + bufferutil ${packageVersion('bufferutil') ?? '?'}` : ' (no bufferutil)'}`;
}

const statusText: Readonly<Record<number, string>> = {
  200: 'OK', 204: 'No Content', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed',
  413: 'Payload Too Large', 500: 'Internal Server Error',
};

function runHandler(fn: () => HttpReply, log: (msg: string) => void): HttpReply {
  try {
    return fn();
  } catch (err) {
    log(`http handler failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    return { status: 500, contentType: 'text/plain', body: 'internal error\n' };
  }
}

// ---------------------------------------------------------------------------------------------
// uWebSockets.js

interface UwsUserData {
  conn?: UwsConn;
}

class UwsConn implements Conn {
  readonly id = newConnId();
  private isClosed = false;

  constructor(
    private readonly ws: Uws.WebSocket<UwsUserData>,
    readonly remoteAddress: string,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  // Called from the close handler: after it, touching the native socket throws.
  markClosed(): void {
    this.isClosed = true;
  }

  send(bytes: Uint8Array): boolean {
    if (this.isClosed) return false;
    // 2 = dropped by uWS' own backpressure limit; ours is far below it (see maxBackpressure).
    return this.ws.send(bytes, true, false) !== 2;
  }

  bufferedBytes(): number {
    return this.isClosed ? 0 : this.ws.getBufferedAmount();
  }

  cork(fn: () => void): void {
    if (this.isClosed) {
      fn();
      return;
    }
    this.ws.cork(fn);
  }

  close(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ws.end(code, reason);
  }

  // terminate closes without the close handshake (shutdown).
  terminate(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ws.close();
  }
}

function createUwsServer(opts: ServerOptions): Promise<PeerServer> {
  const build = loadNativeUws();
  const uws = build.module;
  const log = opts.log ?? ((msg: string) => process.stderr.write(`transport: ${msg}\n`));
  const app = uws.App();
  const conns = new Set<UwsConn>();
  const drainBytes = opts.drainBytes ?? defaultDrainBytes;

  const route = (handlers: SocketHandlers): Uws.WebSocketBehavior<UwsUserData> => ({
    compression: uws.DISABLED,
    maxPayloadLength: opts.messageBytesMax,
    idleTimeout: opts.idleTimeoutS ?? defaultIdleTimeoutS,
    sendPingsAutomatically: true,
    // Our peer links stop writing at drainBytes; uWS' own limit only guards against a bug.
    maxBackpressure: Math.max(drainBytes * 4, opts.messageBytesMax * 2),
    open: (ws) => {
      const conn = new UwsConn(ws, Buffer.from(ws.getRemoteAddressAsText()).toString());
      ws.getUserData().conn = conn;
      conns.add(conn);
      handlers.open(conn);
    },
    message: (ws, message) => {
      const conn = ws.getUserData().conn;
      if (conn !== undefined) handlers.message(conn, new Uint8Array(message));
    },
    drain: (ws) => {
      const conn = ws.getUserData().conn;
      if (conn !== undefined && ws.getBufferedAmount() <= drainBytes) handlers.drain(conn);
    },
    close: (ws, code, message) => {
      const conn = ws.getUserData().conn;
      if (conn === undefined) return;
      conn.markClosed();
      conns.delete(conn);
      handlers.close(conn, code, Buffer.from(message).toString());
    },
  });

  app.ws(opts.peerPath ?? defaultPeerPath, route(opts.peer));
  if (opts.client !== undefined) app.ws(opts.clientPath ?? defaultClientPath, route(opts.client));

  const reply = (res: Uws.HttpResponse, r: HttpReply): void => {
    const status = r.status ?? 200;
    res.cork(() => {
      res.writeStatus(`${status} ${statusText[status] ?? ''}`.trimEnd());
      if (r.contentType !== undefined) res.writeHeader('content-type', r.contentType);
      res.end(r.body);
    });
  };
  for (const [path, handler] of Object.entries(opts.httpGet ?? {})) {
    app.get(path, (res) => reply(res, runHandler(handler, log)));
  }
  const bodyMax = opts.httpBodyBytesMax ?? defaultHttpBodyBytesMax;
  for (const [path, handler] of Object.entries(opts.httpPost ?? {})) {
    app.post(path, (res) => {
      let done = false;
      res.onAborted(() => {
        done = true;
      });
      const chunks: Buffer[] = [];
      let size = 0;
      res.onData((chunk, isLast) => {
        if (done) return;
        size += chunk.byteLength;
        if (size > bodyMax) {
          done = true;
          reply(res, { status: 413, contentType: 'text/plain', body: `body over ${bodyMax} bytes\n` });
          return;
        }
        chunks.push(Buffer.from(new Uint8Array(chunk)));
        if (!isLast) return;
        done = true;
        const body = new Uint8Array(Buffer.concat(chunks));
        reply(res, runHandler(() => handler(body), log));
      });
    });
  }
  app.any('/*', (res) => reply(res, { status: 404, contentType: 'text/plain', body: 'not found\n' }));

  const host = opts.host;
  return new Promise((resolve, reject) => {
    app.listen(host, opts.port, (listenSocket) => {
      if (!listenSocket) {
        reject(new TransportConfigError(`uWebSockets.js could not listen on ${host}:${opts.port} (address in use or not permitted)`));
        return;
      }
      const port = uws.us_socket_local_port(listenSocket);
      let closed = false;
      const info: ServerInfo = {
        kind: 'uws',
        implementation: `uWebSockets.js ${build.version} (${build.packageName}, native ${build.binaryPath.split(/[\\/]/).pop() ?? ''})`,
        native: true,
        dialer: dialerDescription(),
        node: process.version,
      };
      resolve({
        kind: 'uws',
        host,
        port,
        info,
        connectionCount: () => conns.size,
        close: async () => {
          if (closed) return;
          closed = true;
          uws.us_listen_socket_close(listenSocket);
          for (const conn of [...conns]) conn.terminate();
          conns.clear();
          // App.close (in the native build, not in its typings) also ends idle HTTP keep-alive
          // sockets, which would otherwise keep the process alive until the client drops them.
          const closeApp = (app as unknown as { close?: () => void }).close;
          if (typeof closeApp === 'function') closeApp.call(app);
          // Let uWS run the close callbacks it has queued before the caller moves on.
          await new Promise<void>((r) => setImmediate(r));
        },
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// ws on node:http

function createWsServer(opts: ServerOptions): Promise<PeerServer> {
  const log = opts.log ?? ((msg: string) => process.stderr.write(`transport: ${msg}\n`));
  const drainBytes = opts.drainBytes ?? defaultDrainBytes;
  const bodyMax = opts.httpBodyBytesMax ?? defaultHttpBodyBytesMax;
  const idleMs = (opts.idleTimeoutS ?? defaultIdleTimeoutS) * 1000;
  const conns = new Set<WsConn>();
  const peerPath = opts.peerPath ?? defaultPeerPath;
  const clientPath = opts.clientPath ?? defaultClientPath;
  const routes = new Map<string, SocketHandlers>([[peerPath, opts.peer]]);
  if (opts.client !== undefined) routes.set(clientPath, opts.client);
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.messageBytesMax, perMessageDeflate: false, skipUTF8Validation: true });

  const sendReply = (res: ServerResponse, r: HttpReply): void => {
    res.statusCode = r.status ?? 200;
    if (r.contentType !== undefined) res.setHeader('content-type', r.contentType);
    res.end(r.body);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && opts.httpGet?.[path] !== undefined) {
      sendReply(res, runHandler(opts.httpGet[path]!, log));
      return;
    }
    const post = opts.httpPost?.[path];
    if (req.method === 'POST' && post !== undefined) {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      req.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.byteLength;
        if (size > bodyMax) {
          done = true;
          sendReply(res, { status: 413, contentType: 'text/plain', body: `body over ${bodyMax} bytes\n` });
          req.resume();
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        if (done) return;
        done = true;
        const body = new Uint8Array(Buffer.concat(chunks));
        sendReply(res, runHandler(() => post(body), log));
      });
      req.on('error', () => {
        done = true;
      });
      return;
    }
    sendReply(res, { status: 404, contentType: 'text/plain', body: 'not found\n' });
  };

  const server: HttpServer = createHttpServer(onRequest);
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const handlers = routes.get(path);
    if (handlers === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    socket.setNoDelay(true);
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, handlers, socket.remoteAddress ?? ''));
  });

  const attach = (ws: WebSocket, handlers: SocketHandlers, remote: string): void => {
    const conn = new WsConn(ws, remote, drainBytes, (c) => handlers.drain(c));
    conns.add(conn);
    let alive = true;
    ws.on('pong', () => {
      alive = true;
    });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      alive = true;
      handlers.message(conn, toBytes(data));
    });
    // Liveness as uWS' idleTimeout: a socket that answered no ping for a whole period is dead.
    const pinger = setInterval(() => {
      if (!alive) {
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, idleMs / 2);
    pinger.unref();
    ws.on('error', () => {
      // 'close' follows; errors (e.g. a message over maxPayload) are reported there by code.
    });
    ws.on('close', (code: number, reason: Buffer) => {
      clearInterval(pinger);
      conn.markClosed();
      conns.delete(conn);
      handlers.close(conn, code, reason.toString());
    });
    handlers.open(conn);
  };

  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new TransportConfigError(`ws server could not listen on ${opts.host}:${opts.port}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      server.on('error', (err) => log(`http server error: ${err.message}`));
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
      let closed = false;
      resolve({
        kind: 'ws',
        host: opts.host,
        port,
        info: {
          kind: 'ws',
          implementation: `ws ${packageVersion('ws') ?? '?'} on node:http`,
          native: false,
          dialer: dialerDescription(),
          node: process.version,
        },
        connectionCount: () => conns.size,
        close: async () => {
          if (closed) return;
          closed = true;
          for (const conn of [...conns]) conn.ws.terminate();
          wss.close();
          await new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          });
        },
      });
    });
  });
}
