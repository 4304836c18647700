/** RFC 4180 CSV: fields separated by commas, quoted when they hold a comma, quote or line break. */
export function parseCsv(text: string): string[][] {
  return parseCsvRows(text).map((row) => row.fields);
}

/** A file that is not CSV; `line` is the file line where what cannot be read starts. */
export class CsvSyntaxError extends SyntaxError {
  constructor(
    message: string,
    readonly line: number,
    readonly code: 'UNTERMINATED_QUOTE',
  ) {
    super(`${message} (line ${line})`);
    this.name = 'CsvSyntaxError';
  }
}

/** A record of a CSV file, with the file line it starts on (1-based), so a problem can name the line an editor shows. */
export interface CsvRow {
  line: number;
  fields: string[];
}

/**
 * As `parseCsv`, each record with the line it starts on: blank lines are skipped but counted, and a quoted
 * field's line breaks count as the lines they are. LF, CRLF and a lone CR each end one line.
 */
export function parseCsvRows(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let quoteLine = 1;
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n' || (c === '\r' && body[i + 1] !== '\n')) line++;
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
      quoteLine = line;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && body[i + 1] === '\n') i++;
      row.push(field);
      rows.push({ line: rowLine, fields: row });
      row = [];
      field = '';
      rowLine = ++line;
    } else field += c;
  }
  if (quoted) throw new CsvSyntaxError('unterminated quoted field', quoteLine, 'UNTERMINATED_QUOTE');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push({ line: rowLine, fields: row });
  }
  return rows.filter((r) => !(r.fields.length === 1 && r.fields[0] === ''));
}

/** How a text cell a spreadsheet would run as a formula starts (OWASP CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** A decimal number as the platform writes amounts (`-1250`, `12.50`): a spreadsheet reads it as the number it is. */
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * One CSV line: a field is quoted when it holds a comma, quote or line break. The CSV the platform hands people (the
 * finance export) is written here, and opened in spreadsheets, which run a cell starting with `=`, `+`, `-`, `@`, a
 * tab or a carriage return as a formula: such a text field (a merchant id or transaction id as Alipay's report has
 * it) is written with a leading `'`, so it shows as text. A number, or a decimal string (`-12.50`), stays as it is.
 */
export function toCsvLine(fields: ReadonlyArray<string | number | null | undefined>): string {
  return fields
    .map((f) => {
      const text = f === null || f === undefined ? '' : String(f);
      const cell = typeof f !== 'number' && FORMULA_START.test(text) && !DECIMAL.test(text) ? `'${text}` : text;
      return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
    })
    .join(',');
}

/** A record of a CSV file keyed by its header line's names, with the file line it starts on and how many fields it has. */
export interface CsvRecord {
  line: number;
  values: Record<string, string>;
  /** more than the header names means fields `values` cannot hold (an unquoted comma, a stray field) */
  fieldCount: number;
}

/** The header line's names and every record after it, each with its file line and field count. */
export function csvRecordRows(text: string): { header: string[]; rows: CsvRecord[] } {
  const [header = { line: 1, fields: [] }, ...rows] = parseCsvRows(text);
  return {
    header: header.fields,
    rows: rows.map((r) => ({ line: r.line, values: Object.fromEntries(header.fields.map((name, i) => [name, r.fields[i] ?? ''])), fieldCount: r.fields.length })),
  };
}

/** Rows as objects keyed by the header line's names. */
export function csvRecords(text: string): { header: string[]; records: Array<Record<string, string>> } {
  const { header, rows } = csvRecordRows(text);
  return { header, records: rows.map((r) => r.values) };
}
