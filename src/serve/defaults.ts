/**
 * The service's default limits, apart from server.ts so that `fusionkit serve
 * --help` can show them without loading fastify and onnxruntime.
 *
 * requestTimeoutMs bounds the whole request, body included: a client that
 * trickles its body is cut off (408) instead of holding a connection and a
 * file descriptor for minutes. maxConcurrent requests run at once and
 * maxQueued wait; more get 503 with Retry-After.
 */
export const serveDefaults = {
  bodyLimit: 1024 * 1024,
  maxRows: 1024,
  maxExplainRows: 65536,
  requestTimeoutMs: 30_000,
  maxConcurrent: 2,
  maxQueued: 32,
  maxConnections: 8192,
};
