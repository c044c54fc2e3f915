// Problems found in a data file: each names the file, the record and the field, and loaders collect
// many of them (up to a cap) so a user fixes a file in one pass instead of one error per run.

export interface DataIssue {
  file: string;
  /** e.g. `image id 42`, `annotation id 7 (annotations[3])`, `images[12]` when the id itself is bad. */
  record: string;
  /** dotted path inside the record, e.g. `bbox.2` or `segmentation.counts`; empty for whole-record issues. */
  field: string;
  message: string;
}

export function formatIssue(i: DataIssue): string {
  const where = i.field ? `${i.record}, field "${i.field}"` : i.record;
  return `${i.file}: ${where}: ${i.message}`;
}

export class DataFormatError extends Error {
  readonly issues: DataIssue[];
  constructor(issues: DataIssue[], truncated = 0) {
    const lines = issues.map(formatIssue);
    if (truncated > 0) lines.push(`... and ${truncated} more problem(s) not shown`);
    const head = issues.length === 1 && truncated === 0 ? '' : `${issues.length + truncated} problem(s):\n`;
    super(head + lines.join('\n'));
    this.name = 'DataFormatError';
    this.issues = issues;
  }
}

/** Collects issues up to `cap`, counting the rest, then throws them all at once. */
export class IssueList {
  readonly items: DataIssue[] = [];
  dropped = 0;
  constructor(
    readonly file: string,
    readonly cap = 50,
  ) {}

  add(record: string, field: string, message: string): void {
    if (this.items.length < this.cap) this.items.push({ file: this.file, record, field, message });
    else this.dropped++;
  }

  get count(): number {
    return this.items.length + this.dropped;
  }

  throwIfAny(): void {
    if (this.count > 0) throw new DataFormatError(this.items, this.dropped);
  }
}

/** Human name of a record in a COCO list, preferring its id when it has a usable one. */
export function recordName(kind: 'image' | 'annotation' | 'category', index: number, raw: unknown): string {
  const list = kind === 'category' ? 'categories' : `${kind}s`;
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  if (typeof id === 'number' && Number.isFinite(id)) return `${kind} id ${id} (${list}[${index}])`;
  return `${list}[${index}]`;
}
