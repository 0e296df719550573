/**
 * Cheap command registration. `fusionkit --help` (and every command) builds
 * the whole commander tree, so a command module registers its name, options
 * and description with light imports only and loads its implementation in the
 * action (`await import("./actions/<name>.ts")`). Help details only a heavy
 * module knows (defaults kept beside the trainers, the fusion registry's
 * method names) are filled in by `beforeParse`, just before the command itself
 * parses its arguments (its own run or its --help) or `fusionkit help <command>`
 * prints it: the other commands never pay for those imports.
 */
import type { Command } from "commander";

/**
 * Runs `prepare` when `command` is the subcommand being dispatched, before it
 * parses its arguments (commander's preSubcommand hook on the parent), so the
 * defaults and descriptions it sets show in `<command> --help` and apply to the run.
 */
export function beforeParse(command: Command, prepare: (command: Command) => Promise<void>): void {
  const parent = command.parent;
  if (!parent) throw new Error(`beforeParse: command "${command.name()}" has no parent; add it with program.command() first`);
  preparations.set(command, prepare);
  parent.hook("preSubcommand", async (_parent, subcommand) => {
    if (subcommand === command) await prepare(command);
  });
}

const preparations = new WeakMap<Command, (command: Command) => Promise<void>>();

/**
 * `help [command]`, replacing commander's built-in one, which prints a
 * command's help synchronously without dispatching to it (so without
 * `beforeParse`). Register it after the commands.
 */
export function addHelpCommand(program: Command): void {
  program.helpCommand(false);
  program
    .command("help")
    .argument("[command]", "the command to describe")
    .description("display help for command")
    .action(async (name: string | undefined) => {
      if (name === undefined) return program.help();
      const command = program.commands.find((c) => c.name() === name || c.aliases().includes(name));
      if (!command) return program.error(`error: unknown command '${name}'; the commands are ${program.commands.map((c) => c.name()).join(", ")}`);
      await preparations.get(command)?.(command);
      command.help();
    });
}

function optionOf(command: Command, flag: string) {
  const option = command.options.find((o) => o.long === flag);
  if (!option) throw new Error(`command "${command.name()}" has no option ${flag}`);
  return option;
}

/** Gives `flag` a default: shown in help and used when the flag is absent. */
export function setDefault(command: Command, flag: string, value: unknown): void {
  const option = optionOf(command, flag);
  option.default(value);
  command.setOptionValueWithSource(option.attributeName(), value, "default");
}

export function setDescription(command: Command, flag: string, description: string): void {
  optionOf(command, flag).description = description;
}
