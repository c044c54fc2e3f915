// One line per subcommand; each module exports `register(program)`.
import type { Command } from 'commander';

export function registerAll(program: Command): void {
  void program;
}
