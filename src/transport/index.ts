// Public face of src/transport: the live node's peer transport (uWebSockets.js server, `ws`
// dialer, msgpackr frames, HMAC-authenticated connections, bounded per-peer queues, fault
// injection with the simulator's model and a high-resolution delay scheduler).
export { Transport, defaultTransportLimits, peerUrl } from './transport.js';
export type { LogLevel, MessagesHandler, TransportInfo, TransportLimits, TransportLog, TransportOptions } from './transport.js';
export { createServer, dialerDescription } from './peer-server.js';
export type { HttpGetHandler, HttpPostHandler, HttpReply, PeerServer, ServerInfo, ServerKind, ServerOptions, SocketHandlers } from './peer-server.js';
export type { Conn } from './connection.js';
export { FrameCodec, FrameError, defaultCodecLimits, validateFrame, wireVersion } from './codec.js';
export type { CodecLimits, Frame, FrameErrorReason } from './codec.js';
export {
  ClusterKey,
  authFailReasons,
  closeCodeAuthFailed,
  closeCodeHandshakeTimeout,
  closeCodeReplaced,
  decodeChallenge,
  encodeChallenge,
  encodeHello,
  encodeWelcome,
  newNonce,
  secretBytesMin,
  verifyHello,
  verifyWelcome,
} from './auth.js';
export type { AuthFailReason } from './auth.js';
export { PeerDialer, backoffMs } from './peer-client.js';
export type { DialerEvents, DialerOptions } from './peer-client.js';
export { SendQueue } from './send-queue.js';
export type { Dropped, SendQueueLimits } from './send-queue.js';
export { HrScheduler, defaultPollWindowUs, defaultSpinUs, hrNowUs } from './hr-scheduler.js';
export type { DueHandler, HrSchedulerOptions } from './hr-scheduler.js';
export { FaultInjector, controlFromPlain, isActive, parseControlCommand } from './faults.js';
export type { ControlCommand, ControlReply } from './faults.js';
export { dropReasons, prometheusText } from './metrics.js';
export type { DelayErrorSummary, DropReason, PeerMetrics, TransportMetrics } from './metrics.js';
export { TransportConfigError, UwsUnavailableError } from './errors.js';
export { loadNativeUws, nativeBinaryName } from './uws-native.js';
