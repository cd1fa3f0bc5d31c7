import { describe, expect, it } from 'vitest';
import { configFromForm, DEFAULT_CONFIG, formFromConfig } from './botsForm';

describe('bots form', () => {
  it('round-trips a config through the form', () => {
    const config = { ...DEFAULT_CONFIG, symbols: ['AAPL', 'MSFT'], fair_value: { volatility_pct: '1.25', drift_pct: '-0.1', seed: 42 } };
    const form = formFromConfig(config);
    expect(form).toMatchObject({ market_makers: '2', symbols: 'AAPL, MSFT', seed: '42', drift_pct: '-0.1' });
    expect(configFromForm(form)).toEqual({ config });
  });

  it('reads empty symbols as all stocks and empty seed as random', () => {
    const form = { ...formFromConfig(DEFAULT_CONFIG), symbols: ' ', seed: '' };
    expect(configFromForm(form)).toEqual({ config: DEFAULT_CONFIG });
    const r = configFromForm({ ...form, symbols: 'aapl aapl;tsla' });
    expect('config' in r && r.config.symbols).toEqual(['AAPL', 'TSLA']);
  });

  it('keeps what the form does not show from the config it started from', () => {
    const base = { ...DEFAULT_CONFIG, fair_value: { ...DEFAULT_CONFIG.fair_value, reversion_pct: '2' } };
    const r = configFromForm({ ...formFromConfig(base), volatility_pct: '0.9' }, base);
    expect('config' in r && r.config.fair_value).toEqual({ volatility_pct: '0.9', drift_pct: '0', reversion_pct: '2', seed: null });
  });

  it('names the first bad field', () => {
    const form = formFromConfig(DEFAULT_CONFIG);
    expect(configFromForm({ ...form, noise_traders: '-1' })).toEqual({ error: 'noise traders: a whole number from 0 to 100', field: 'noise_traders' });
    expect(configFromForm({ ...form, aggressiveness: '1.5' })).toEqual({ error: 'aggressiveness: a number from 0 to 1', field: 'aggressiveness' });
    expect(configFromForm({ ...form, volatility_pct: '-2' })).toMatchObject({ field: 'volatility_pct' });
    expect(configFromForm({ ...form, drift_pct: 'up' })).toMatchObject({ field: 'drift_pct' });
    expect(configFromForm({ ...form, seed: '1.5' })).toMatchObject({ field: 'seed' });
    expect(configFromForm({ ...form, symbols: 'AAPL, toolongsymbol' })).toEqual({ error: 'symbols: "TOOLONGSYMBOL" is not a symbol', field: 'symbols' });
  });
});
