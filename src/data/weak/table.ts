// Plain-text tables for the summaries that weaken / budget / convert print.

/** Right-aligns numbers, left-aligns text; thousands separators for integers. */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmtNum(c) : c)))];
  const numeric = header.map(
    (_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === 'number' || r[j] === '-'),
  );
  const width = header.map((_, j) => Math.max(...cells.map((r) => r[j].length)));
  const line = (r: string[]) =>
    r
      .map((c, j) => (numeric[j] ? c.padStart(width[j]) : c.padEnd(width[j])))
      .join('  ')
      .trimEnd();
  return [line(cells[0]), width.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function fmtNum(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : String(n);
}
