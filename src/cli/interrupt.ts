// Ctrl-C for long commands: the first press asks the work to stop at its next safe point (an AbortSignal
// the work polls, e.g. the trainer after an iteration, which then checkpoints); a second press exits at
// once, which is still safe because every file is written to a temporary name and renamed.
export async function withInterrupt<T>(
  what: string,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<{ value: T; interrupted: boolean }> {
  const ctrl = new AbortController();
  const onSigint = (): void => {
    if (ctrl.signal.aborted) {
      process.stderr.write(`\n${what}: stopped\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${what}: stopping at the next safe point (Ctrl-C again to quit now)\n`);
    ctrl.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const value = await work(ctrl.signal);
    if (ctrl.signal.aborted) process.exitCode = 130;
    return { value, interrupted: ctrl.signal.aborted };
  } finally {
    process.off('SIGINT', onSigint);
  }
}
