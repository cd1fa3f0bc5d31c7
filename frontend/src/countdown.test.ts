import { describe, expect, it } from 'vitest';
import { formatCountdown, parseSessionMinutes, remainingMs } from './countdown';

describe('countdown', () => {
  const now = Date.parse('2026-01-05T10:00:00Z');

  it('measures the time left until closes_at', () => {
    expect(remainingMs('2026-01-05T10:05:30Z', now)).toBe(330_000);
    expect(remainingMs('2026-01-05T09:59:00Z', now)).toBe(0);
    expect(remainingMs(null, now)).toBeNull();
    expect(remainingMs('not a date', now)).toBeNull();
  });

  it('formats minutes and seconds, hours only when needed', () => {
    expect(formatCountdown(330_000)).toBe('5:30');
    expect(formatCountdown(59_001)).toBe('1:00');
    expect(formatCountdown(999)).toBe('0:01');
    expect(formatCountdown(0)).toBe('0:00');
    expect(formatCountdown(-5)).toBe('0:00');
    expect(formatCountdown(3_723_000)).toBe('1:02:03');
    expect(formatCountdown(36_000_000)).toBe('10:00:00');
  });

  it('parses the session length', () => {
    expect(parseSessionMinutes('')).toEqual({ minutes: null });
    expect(parseSessionMinutes(' 45 ')).toEqual({ minutes: 45 });
    expect(parseSessionMinutes('600')).toEqual({ minutes: 600 });
    expect(parseSessionMinutes('0')).toEqual({ error: 'session length must be 1 to 600 minutes' });
    expect(parseSessionMinutes('601')).toEqual({ error: 'session length must be 1 to 600 minutes' });
    expect(parseSessionMinutes('1.5')).toEqual({ error: 'session length must be whole minutes' });
  });
});
