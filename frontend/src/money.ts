// Decimal strings <-> scaled integers (bigint). Money is never a float here:
// server values are shown as the server wrote them, and anything computed
// (the ticket's estimate, a position's value after a price push) is done in
// integer units of 10^-scale and formatted back to a decimal string.

const DECIMAL = /^\s*(-)?(\d*)(?:\.(\d*))?\s*$/;

interface Parts {
  negative: boolean;
  whole: string;
  frac: string;
}

function split(text: string): Parts | null {
  const m = DECIMAL.exec(text);
  if (!m) return null;
  const whole = m[2] ?? '';
  const frac = m[3] ?? '';
  if (whole === '' && frac === '') return null;
  return { negative: m[1] === '-', whole: whole || '0', frac };
}

/**
 * Parses a decimal string into integer units of 10^-scale, rounding half away
 * from zero when it has more decimals. Returns null for anything that is not a
 * plain decimal (no exponents, no thousands separators).
 */
export function toUnits(text: string | null | undefined, scale: number): bigint | null {
  if (text === null || text === undefined) return null;
  const p = split(String(text));
  if (!p) return null;
  const kept = (p.frac + '0'.repeat(scale)).slice(0, scale);
  let units = BigInt(p.whole) * 10n ** BigInt(scale) + BigInt(kept || '0');
  const rest = p.frac.slice(scale);
  if (rest.length > 0 && rest[0] >= '5') units += 1n;
  return p.negative ? -units : units;
}

/** Exact parse at `scale` decimals: null when the text has a non-zero digit beyond it. */
export function toUnitsExact(text: string | null | undefined, scale: number): bigint | null {
  if (text === null || text === undefined) return null;
  const p = split(String(text));
  if (!p) return null;
  if (/[1-9]/.test(p.frac.slice(scale))) return null;
  return toUnits(text, scale);
}

/** Cents of a decimal string (rounded half away from zero), or null. */
export function toCents(text: string | null | undefined): bigint | null {
  return toUnits(text, 2);
}

/** Formats integer units of 10^-scale as a decimal string: formatUnits(18950n, 2) = "189.50". */
export function formatUnits(units: bigint, scale: number): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const base = 10n ** BigInt(scale);
  const whole = (abs / base).toString();
  const frac = scale > 0 ? '.' + (abs % base).toString().padStart(scale, '0') : '';
  return (negative ? '-' : '') + whole + frac;
}

export function formatCents(cents: bigint): string {
  return formatUnits(cents, 2);
}

/** Rescales units, rounding half away from zero when going to fewer decimals. */
export function rescale(units: bigint, from: number, to: number): bigint {
  if (to >= from) return units * 10n ** BigInt(to - from);
  const div = 10n ** BigInt(from - to);
  const negative = units < 0n;
  const abs = negative ? -units : units;
  let q = abs / div;
  if ((abs % div) * 2n >= div) q += 1n;
  return negative ? -q : q;
}

/** qty x price in cents; null when the price does not parse. */
export function notionalCents(qty: number | bigint, price: string | null | undefined): bigint | null {
  const cents = toCents(price);
  if (cents === null) return null;
  return BigInt(qty) * cents;
}

function decimals(text: string): number {
  const p = split(text);
  return p ? p.frac.length : 0;
}

/** Compares two decimal strings exactly: -1, 0 or 1 (null when either does not parse). */
export function compareDecimal(a: string | null | undefined, b: string | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  const scale = Math.max(decimals(a), decimals(b));
  const x = toUnits(a, scale);
  const y = toUnits(b, scale);
  if (x === null || y === null) return null;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Sign of a decimal string: -1, 0, 1 (0 when it does not parse). */
export function sign(text: string | null | undefined): number {
  const c = compareDecimal(text ?? null, '0');
  return c ?? 0;
}
