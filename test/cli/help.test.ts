// Every leaf command of `wish` shows an example in its --help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { registerAll } from '../../src/cli/commands/index.ts';

function leaves(cmd: Command, prefix = ''): { path: string; cmd: Command }[] {
  const out: { path: string; cmd: Command }[] = [];
  for (const c of cmd.commands) {
    const path = prefix ? `${prefix} ${c.name()}` : c.name();
    if (c.commands.length === 0) out.push({ path, cmd: c });
    else out.push(...leaves(c, path));
  }
  return out;
}

function helpText(cmd: Command): string {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}

test('every leaf command has an example in its --help', () => {
  const program = new Command('wish');
  registerAll(program);
  const all = leaves(program);
  assert.ok(all.length >= 12, `expected the full command set, got ${all.map((l) => l.path).join(', ')}`);
  const missing = all.filter((l) => !/\nExample:\n {2}wish /.test(helpText(l.cmd))).map((l) => l.path);
  assert.deepEqual(missing, []);
});
