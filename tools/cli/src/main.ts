#!/usr/bin/env node
/** The `ganglion` command line. */
import { parseArgs } from 'node:util';
import { GENERATE_HELP, generateCommand } from './generate.command.js';
import { LINT_HELP, lintCommand } from './lint.command.js';

const HELP = `Usage: ganglion COMMAND [options]

Commands:
  lint PATH... [-R] [--strict]   validate EventSource, Sensor and EventBus manifests
  generate [--root DIR]          write generated types, JSON Schemas, CRDs, ingress services and charts

Run "ganglion COMMAND --help" for details.
`;

async function run(
  argv: string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'lint') {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          recursive: { type: 'boolean', short: 'R' },
          strict: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
      });
      if (values.help) return (out(LINT_HELP.trimEnd()), 0);
      if (positionals.length === 0)
        return (err('ganglion lint: at least one PATH is required\n\n' + LINT_HELP.trimEnd()), 2);
      return await lintCommand(
        positionals,
        { recursive: values.recursive ?? false, strict: values.strict ?? false },
        out,
      );
    }
    if (command === 'generate') {
      const { values } = parseArgs({
        args: rest,
        options: { root: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      });
      if (values.help) return (out(GENERATE_HELP.trimEnd()), 0);
      return await generateCommand(values.root ?? process.cwd(), out);
    }
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      out(HELP.trimEnd());
      return command === undefined ? 2 : 0;
    }
    err(`ganglion: unknown command "${command}"\n\n${HELP.trimEnd()}`);
    return 2;
  } catch (e) {
    err(`ganglion ${command}: ${(e as Error).message}`);
    return 2;
  }
}

process.exitCode = await run(
  process.argv.slice(2),
  (l) => console.log(l),
  (l) => console.error(l),
);
