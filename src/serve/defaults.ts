/**
 * The service's default limits, apart from server.ts so that `fusionkit serve
 * --help` can show them without loading fastify and onnxruntime.
 */
export const serveDefaults = { bodyLimit: 1024 * 1024, maxRows: 1024, maxExplainRows: 65536 };
