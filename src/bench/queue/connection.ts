/**
 * Redis connections for the coordinator and the workers. Both must outlive a
 * Redis restart: `maxRetriesPerRequest: null` makes ioredis hold commands
 * while it reconnects (it retries every 50 ms, backing off to 2 s) instead of
 * failing them, which is also what BullMQ requires of a worker's connection.
 * That would make an unreachable server hang forever, so `checkReachable`
 * first proves the server answers, and fails with a one-line error if not.
 */
import { Redis } from "ioredis";
import { FusionkitError } from "../../errors.ts";
import type { QueueConnection } from "./url.ts";

/** Options for ioredis, and for BullMQ, which hands them to ioredis. */
export type RedisConnectionOptions = {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: object;
  maxRetriesPerRequest: null;
};

export function redisOptions(connection: QueueConnection): RedisConnectionOptions {
  return {
    host: connection.host,
    port: connection.port,
    db: connection.db,
    ...(connection.username !== undefined ? { username: connection.username } : {}),
    ...(connection.password !== undefined ? { password: connection.password } : {}),
    ...(connection.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** Connects once, PINGs, disconnects; a FusionkitError naming the (redacted) URL when that fails within `timeoutMs`. */
export async function checkReachable(connection: QueueConnection, timeoutMs = 5000): Promise<void> {
  const client = new Redis({ ...redisOptions(connection), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs });
  let lastError: Error | undefined;
  client.on("error", (error: Error) => (lastError = error));
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    const why = (lastError ?? (error as Error)).message;
    throw new FusionkitError(
      `cannot use the queue at ${connection.display}: ${why}. Start redis-server there (or check host, port, password and database in --queue)`,
      { field: "--queue" },
    );
  } finally {
    client.disconnect();
  }
}
