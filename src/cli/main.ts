// Entry point of the `wish` command line: each subcommand lives in src/cli/commands/.
import { Command } from 'commander';
import { registerAll } from './commands/index.ts';

const program = new Command();
program
  .name('wish')
  .description(
    'Train instance segmentation from mixed weak labels (tags, points, boxes) with SAM as teacher.',
  )
  .showHelpAfterError();
registerAll(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Errors the user can act on are printed plainly, without a stack trace.
  // WISH_DEBUG=1 adds the stack (for bug reports).
  console.error(`wish: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.WISH_DEBUG && err instanceof Error && err.stack) console.error(err.stack);
  process.exitCode = 1;
}
