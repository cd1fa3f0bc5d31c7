// The house-bot tuning form: text fields <-> the bots config (decimals stay strings).

import type { BotsConfig } from './types';

export const KINDS = ['market_makers', 'noise_traders', 'momentum_traders', 'value_traders'] as const;
export type Kind = (typeof KINDS)[number];

export interface BotsForm {
  market_makers: string;
  noise_traders: string;
  momentum_traders: string;
  value_traders: string;
  aggressiveness: string;
  /** empty: every listed stock */
  symbols: string;
  volatility_pct: string;
  drift_pct: string;
  /** empty: a new random seed */
  seed: string;
}

export const DEFAULT_CONFIG: BotsConfig = {
  market_makers: 2,
  noise_traders: 4,
  momentum_traders: 1,
  value_traders: 1,
  aggressiveness: '0.5',
  symbols: null,
  fair_value: { volatility_pct: '0.5', drift_pct: '0', seed: null },
};

export function formFromConfig(c: BotsConfig): BotsForm {
  return {
    market_makers: String(c.market_makers),
    noise_traders: String(c.noise_traders),
    momentum_traders: String(c.momentum_traders),
    value_traders: String(c.value_traders),
    aggressiveness: c.aggressiveness,
    symbols: (c.symbols ?? []).join(', '),
    volatility_pct: c.fair_value.volatility_pct,
    drift_pct: c.fair_value.drift_pct,
    seed: c.fair_value.seed === null || c.fair_value.seed === undefined ? '' : String(c.fair_value.seed),
  };
}

const DECIMAL = /^-?\d+(\.\d+)?$/;
const MAX_PER_KIND = 100;

/**
 * The config from the form, or the first problem (naming the field). Fields the
 * form does not show (e.g. the fair value's reversion) are kept from `base`.
 */
export function configFromForm(
  f: BotsForm,
  base: BotsConfig = DEFAULT_CONFIG,
): { config: BotsConfig } | { error: string; field: keyof BotsForm } {
  const counts: Partial<Record<Kind, number>> = {};
  for (const k of KINDS) {
    const t = f[k].trim();
    if (!/^\d+$/.test(t) || Number(t) > MAX_PER_KIND) {
      return { error: `${k.replace('_', ' ')}: a whole number from 0 to ${MAX_PER_KIND}`, field: k };
    }
    counts[k] = Number(t);
  }
  const aggr = f.aggressiveness.trim();
  if (!DECIMAL.test(aggr) || aggr.startsWith('-') || Number(aggr) > 1) {
    return { error: 'aggressiveness: a number from 0 to 1', field: 'aggressiveness' };
  }
  const vol = f.volatility_pct.trim();
  if (!DECIMAL.test(vol) || vol.startsWith('-')) {
    return { error: 'volatility: a percentage per minute, 0 or more', field: 'volatility_pct' };
  }
  const drift = f.drift_pct.trim();
  if (!DECIMAL.test(drift)) return { error: 'drift: a percentage per minute (may be negative)', field: 'drift_pct' };
  const seedText = f.seed.trim();
  if (seedText && !/^\d{1,15}$/.test(seedText)) return { error: 'seed: a whole number, or empty', field: 'seed' };
  const symbols = f.symbols
    .split(/[\s,;]+/)
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const bad = symbols.find((s) => !/^[A-Z0-9]{1,8}$/.test(s));
  if (bad) return { error: `symbols: "${bad}" is not a symbol`, field: 'symbols' };
  return {
    config: {
      ...base,
      market_makers: counts.market_makers!,
      noise_traders: counts.noise_traders!,
      momentum_traders: counts.momentum_traders!,
      value_traders: counts.value_traders!,
      aggressiveness: aggr,
      symbols: symbols.length ? [...new Set(symbols)] : null,
      fair_value: { ...base.fair_value, volatility_pct: vol, drift_pct: drift, seed: seedText ? Number(seedText) : null },
    },
  };
}
