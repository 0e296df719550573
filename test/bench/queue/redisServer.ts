/**
 * A real redis-server (the Debian package; .ci/run installs it) for the queue
 * tests: started on a free loopback port in its own directory, with a
 * password, and with append-only persistence fsynced on every write, so a
 * restart (even after SIGKILL) loses nothing the server acknowledged.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number, readonly dir: string, readonly password: string) {}

  get url(): string {
    return `redis://:${this.password}@127.0.0.1:${this.port}/0`;
  }

  static async start(dir: string, password: string): Promise<RedisServer> {
    if (spawnSync("redis-server", ["--version"]).error) throw new Error("redis-server is not installed: apt-get install -y redis-server (.ci/run does)");
    mkdirSync(dir, { recursive: true });
    const server = new RedisServer(await freePort(), dir, password);
    await server.launch();
    return server;
  }

  private launch(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--requirepass", this.password, "--loglevel", "notice"];
    const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    return new Promise((resolve, reject) => {
      let output = "";
      const timer = setTimeout(() => reject(new Error(`redis-server did not start in 20 s:\n${output}`)), 20_000);
      child.stdout!.on("data", (d: Buffer) => {
        output += d.toString();
        if (/Ready to accept connections/u.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output}`));
      });
    });
  }

  /** Kills the server without warning (SIGKILL: no final save) and starts it again on the same port and files. */
  async restart(): Promise<void> {
    await this.kill("SIGKILL");
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill("SIGTERM");
  }

  private kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.removeAllListeners("exit");
      child.on("exit", () => resolve());
      child.kill(signal);
    });
  }
}
