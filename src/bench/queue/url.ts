/**
 * The queue's address: `redis://[[user]:password@]host[:port][/db]` (or
 * `rediss://` for TLS). The password must never reach a log, an error
 * message, results.json or report.html, so everything that prints the URL
 * prints `redactQueueUrl(url)`, and the recorded command line goes through
 * `redactArgs`. A URL without a password takes it from the environment
 * variable FUSIONKIT_REDIS_PASSWORD, which keeps it out of process lists too.
 */
import { FusionkitError } from "../../errors.ts";

export type QueueConnection = {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** the URL with its password replaced by *** */
  display: string;
};

const hint = "Give it as redis://[:password@]HOST:PORT[/db], e.g. redis://localhost:6379/0";

export const passwordVariable = "FUSIONKIT_REDIS_PASSWORD";

export function parseQueueUrl(text: string, env: NodeJS.ProcessEnv = process.env): QueueConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // not echoed: a malformed URL may still hold a password
    throw new FusionkitError(`not a URL. ${hint}`, { field: "--queue" });
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new FusionkitError(`must be a redis:// or rediss:// URL, got ${url.protocol}//. ${hint}`, { field: "--queue" });
  }
  if (!url.hostname) throw new FusionkitError(`names no host. ${hint}`, { field: "--queue" });
  const port = url.port === "" ? 6379 : Number(url.port);
  const path = url.pathname.replace(/^\//u, "");
  const db = path === "" ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0 || !/^\d*$/u.test(path)) {
    throw new FusionkitError(`the database after the host must be a number such as /0, got "/${path}". ${hint}`, { field: "--queue" });
  }
  const connection: QueueConnection = {
    // URL keeps the brackets of an IPv6 literal; the socket wants the bare address
    host: url.hostname.replace(/^\[(.*)\]$/u, "$1"),
    port,
    db,
    tls: url.protocol === "rediss:",
    display: redactQueueUrl(text),
  };
  if (url.username) connection.username = decodeURIComponent(url.username);
  if (url.password) connection.password = decodeURIComponent(url.password);
  else if (env[passwordVariable]) connection.password = env[passwordVariable];
  return connection;
}

/** The URL with any password replaced by ***; text that is not a URL with credentials comes back unchanged. */
export function redactQueueUrl(text: string): string {
  // Not through URL: it would also normalise the rest, and a malformed URL must be redacted too.
  return text.replace(/^(rediss?:\/\/)([^@/]*)@/iu, (_, scheme: string, credentials: string) => {
    const colon = credentials.indexOf(":");
    return colon < 0 ? `${scheme}${credentials}@` : `${scheme}${credentials.slice(0, colon)}:***@`;
  });
}

/** A command line with the password of every redis URL in it (`--queue URL` or `--queue=URL`) redacted. */
export function redactArgs(args: string[]): string[] {
  return args.map((arg) => {
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) return `${arg.slice(0, eq + 1)}${redactQueueUrl(arg.slice(eq + 1))}`;
    return redactQueueUrl(arg);
  });
}
