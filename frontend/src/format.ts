// Display helpers (never arithmetic on money).

import { sign } from './money';

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

export function clock(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : timeFmt.format(d);
}

export function stamp(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : dateTimeFmt.format(d);
}

/** "+1.25%" / "-0.26%" / "0.00%" from the server's change_pct string. */
export function pct(text: string | null | undefined): string {
  if (text === null || text === undefined || text === '') return '';
  return (sign(text) > 0 && !text.startsWith('+') ? '+' : '') + text + '%';
}

/** CSS class for a signed value: up / down / flat. */
export function tone(text: string | null | undefined): string {
  const s = sign(text);
  return s > 0 ? 'up' : s < 0 ? 'down' : 'flat';
}

const intFmt = new Intl.NumberFormat('en-US');

export function int(n: number | null | undefined): string {
  return n === null || n === undefined ? '' : intFmt.format(n);
}
