// CSV for the class roster: parse a file the instructor picked and preview what
// POST /api/users/bulk would create. The server checks it again (all or
// nothing); the preview only shows the rows and the first problems before
// sending. Also: turning rows into CSV text for nothing else than tests.

export interface CsvTable {
  header: string[];
  /** data rows with their 1-based line number in the file (the header is line 1) */
  rows: { line: number; cells: string[] }[];
}

/**
 * Parses CSV text (RFC 4180: commas, double quotes, "" inside quotes, CRLF or LF).
 * Blank lines are skipped. Throws on an unterminated quote.
 */
export function parseCsv(text: string): CsvTable {
  const records: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let touched = false; // the record has content (so a blank line is skipped)
  const src = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (quoted) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"') {
      quoted = true;
      touched = true;
    } else if (ch === ',') {
      cells.push(cell);
      cell = '';
      touched = true;
    } else if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && src[i + 1] === '\n') i++;
      if (touched || cell !== '') {
        cells.push(cell);
        records.push({ line: recordLine, cells });
      }
      cells = [];
      cell = '';
      touched = false;
      line++;
      recordLine = line;
    } else {
      cell += ch;
      if (ch.trim() !== '') touched = true;
    }
  }
  if (quoted) throw new Error(`line ${recordLine}: a quoted cell is not closed`);
  if (touched || cell !== '') {
    cells.push(cell);
    records.push({ line: recordLine, cells });
  }
  const [head, ...rows] = records;
  return { header: head ? head.cells.map((h) => h.trim()) : [], rows };
}

export interface PreviewRow {
  line: number;
  name: string;
  /** the cell, or null when empty (the form's default applies) */
  starting_cash: string | null;
  /** only the non-empty holding cells */
  holdings: Record<string, number>;
}

export interface Preview {
  symbols: string[];
  rows: PreviewRow[];
  /** every problem found, each naming its line */
  errors: string[];
}

const MONEY = /^\d+(\.\d{1,2})?$/;
const SYMBOL = /^[A-Z0-9]{1,8}$/;

/** What the bulk request would create from this CSV text, with the problems found. */
export function previewRoster(text: string): Preview {
  let table: CsvTable;
  try {
    table = parseCsv(text);
  } catch (exc) {
    return { symbols: [], rows: [], errors: [(exc as Error).message] };
  }
  const errors: string[] = [];
  const header = table.header.map((h) => h.trim());
  if (header.length === 0) return { symbols: [], rows: [], errors: ['the file is empty'] };
  // as the server reads it: exact column names, symbols in capitals
  const nameCol = header.indexOf('name');
  if (nameCol < 0) errors.push('line 1: a "name" column is required');
  const cashCol = header.indexOf('starting_cash');
  const symbolCols: { col: number; symbol: string }[] = [];
  header.forEach((h, col) => {
    if (col === nameCol || col === cashCol) return;
    if (!SYMBOL.test(h)) errors.push(`line 1: column "${h}" is neither name, starting_cash nor a symbol`);
    else symbolCols.push({ col, symbol: h });
  });
  if (new Set(header).size !== header.length) errors.push('line 1: a column appears twice');
  const rows: PreviewRow[] = [];
  const seen = new Map<string, number>();
  for (const { line, cells } of table.rows) {
    if (cells.every((c) => c.trim() === '')) continue; // ",,": a blank line to the server too
    if (cells.length !== header.length) errors.push(`line ${line}: ${cells.length} cells, the header has ${header.length}`);
    const name = nameCol >= 0 ? (cells[nameCol] ?? '').trim() : '';
    if (nameCol >= 0 && !name) errors.push(`line ${line}: the name is empty`);
    const dup = seen.get(name);
    if (name && dup !== undefined) errors.push(`line ${line}: "${name}" is already on line ${dup}`);
    if (name) seen.set(name, line);
    const cashCell = cashCol >= 0 ? (cells[cashCol] ?? '').trim() : '';
    if (cashCell && !MONEY.test(cashCell)) errors.push(`line ${line}: starting_cash "${cashCell}" is not an amount`);
    const holdings: Record<string, number> = {};
    for (const { col, symbol } of symbolCols) {
      const v = (cells[col] ?? '').trim();
      if (!v) continue;
      if (!/^\d+$/.test(v)) errors.push(`line ${line}: ${symbol} "${v}" is not a whole number of shares`);
      else holdings[symbol] = Number(v);
    }
    rows.push({ line, name, starting_cash: cashCell || null, holdings });
  }
  if (rows.length === 0 && errors.length === 0) errors.push('the file has a header but no traders');
  return { symbols: symbolCols.map((s) => s.symbol), rows, errors };
}

/**
 * Holdings typed in a form: "AAPL=10, MSFT 5" (separated by commas or
 * semicolons; symbol and count by "=", ":" or a space). Empty text is none.
 */
export function parseHoldings(text: string): { holdings: Record<string, number> } | { error: string } {
  const holdings: Record<string, number> = {};
  for (const part of text.split(/[,;\n]/)) {
    const item = part.trim();
    if (!item) continue;
    const m = /^([A-Za-z0-9]{1,8})\s*(?:[=:]\s*|\s+)(\d+)$/.exec(item);
    if (!m) return { error: `"${item}" is not SYMBOL=shares` };
    const symbol = m[1].toUpperCase();
    if (symbol in holdings) return { error: `${symbol} is given twice` };
    holdings[symbol] = Number(m[2]);
  }
  return { holdings };
}

/** The holdings back as form text: "AAPL=10, MSFT=5". */
export function formatHoldings(holdings: Record<string, number>): string {
  return Object.entries(holdings)
    .map(([s, n]) => `${s}=${n}`)
    .join(', ');
}

/** A money amount typed in a form: digits with at most 2 decimals. */
export function isAmount(text: string): boolean {
  return MONEY.test(text.trim());
}
