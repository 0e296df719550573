/**
 * The `fusionkit` command line. Each command lives in its own module that
 * exports `register(program)`; adding a command is one line in `commands`.
 * Registering is cheap: a command module imports its implementation (and its
 * heavy dependencies: the engine, fastify, onnxruntime, sharp) only when it
 * runs (src/cli/lazy.ts), so `fusionkit --help` loads none of them.
 * A FusionkitError (bad data, config or flag) prints only its message and
 * exits 1; a file-system failure (a full disk, a read-only directory) prints
 * one line naming the path and what to do; anything else is a bug and shows
 * its stack under --debug. Errors thrown outside the command's promise (an
 * event handler, a timer) take the same path: never a bare Node stack trace.
 */
import { Command, Option } from "commander";
import { FusionkitError } from "../errors.ts";
import { fileSystemError } from "../io/atomicWrite.ts";
import { addHelpCommand } from "./lazy.ts";
import * as alignCommand from "./align.ts";
import * as benchCommand from "./bench.ts";
import * as dataCommand from "./data.ts";
import * as evalCommand from "./eval.ts";
import * as explainCommand from "./explain.ts";
import * as exportCommand from "./export.ts";
import * as pageCommand from "./page.ts";
import * as predictCommand from "./predict.ts";
import * as searchCommand from "./search.ts";
import * as serveCommand from "./serve.ts";
import * as trainCommand from "./train.ts";
import * as workerCommand from "./worker.ts";

export type CommandModule = { register(program: Command): void };

const commands: CommandModule[] = [
  trainCommand,
  evalCommand,
  predictCommand,
  benchCommand,
  explainCommand,
  dataCommand,
  exportCommand,
  serveCommand,
  pageCommand,
  alignCommand,
  searchCommand,
  workerCommand,
];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("fusionkit")
    .description("Multimodal fusion toolkit: train, compare, explain and ship every family of fusion.")
    .option("--debug", "print stack traces for unexpected errors")
    .addOption(
      new Option("--backend <name>", "train-step engine for train, bench and align: ort (ONNX Runtime), jax (jax-js, the reference) or auto (ort where the step lowers); default jax").choices([
        "auto",
        "ort",
        "jax",
      ]),
    )
    .showHelpAfterError("(run with --help for usage)");
  // through the environment, so bench worker threads and processes get the same choice (src/export/trainBackend.ts)
  program.hook("preAction", () => {
    const backend = program.opts().backend as string | undefined;
    if (backend) process.env.FUSIONKIT_BACKEND = backend;
  });
  for (const command of commands) command.register(program);
  addHelpCommand(program);
  return program;
}

/** Prints `error` the way the CLI reports failures (see the header). */
export function reportError(thrown: unknown, debug: boolean): void {
  const error = fileSystemError(thrown);
  if (error instanceof FusionkitError) {
    console.error(`error: ${error.message}`);
    if (debug) console.error(error.stack);
  } else if (debug) {
    console.error(error);
  } else {
    console.error(`internal error: ${(error as Error)?.message ?? String(error)}\n(this is a bug in fusionkit; rerun with --debug for the stack trace and report it)`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const debug = () => program.opts().debug === true || argv.includes("--debug");
  const escaped = (error: unknown) => {
    reportError(error, debug());
    process.exit(1);
  };
  process.on("uncaughtException", escaped);
  process.on("unhandledRejection", escaped);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    reportError(error, debug());
    return 1;
  }
}

process.exitCode = await main(process.argv);
