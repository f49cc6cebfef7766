import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../src/lib/core/errors.js';
import { VaultApiKey } from '../../src/lib/generation/apiKeys.js';

// The caching rules alone, on a clock the test moves; test/keyvault.test.ts runs the real
// SecretClient against the Key Vault stand-in.

function vault(values: string[]) {
  const state = { calls: 0, down: false, values };
  const client = {
    getSecret: async () => {
      state.calls++;
      await new Promise((r) => setImmediate(r)); // a turn of the event loop: the reads overlap
      if (state.down) throw new Error('ECONNREFUSED');
      return {
        value: state.values[Math.min(state.calls - 1, state.values.length - 1)],
        name: 's',
        properties: {} as never,
      };
    },
  };
  return { state, client };
}

describe('VaultApiKey', () => {
  it('reads once per TTL, however many ask at once', async () => {
    let now = 0;
    const { state, client } = vault(['k1', 'k2']);
    const keys = new VaultApiKey(client, { secretName: 's', ttlMs: 1000, now: () => now });
    const got = await Promise.all(Array.from({ length: 32 }, () => keys.get()));
    expect(new Set(got)).toEqual(new Set(['k1']));
    expect(state.calls).toBe(1);
    now = 999;
    expect(await keys.get()).toBe('k1');
    now = 1000;
    expect(await keys.get()).toBe('k2');
    expect(state.calls).toBe(2);
  });

  it('after a refusal reads again once, and not when another request already did', async () => {
    const { state, client } = vault(['old', 'new']);
    const keys = new VaultApiKey(client, { secretName: 's', ttlMs: 60_000 });
    expect(await keys.get()).toBe('old');
    const fresh = await Promise.all([keys.refresh('old'), keys.refresh('old'), keys.refresh('old')]);
    expect(fresh).toEqual(['new', 'new', 'new']);
    expect(state.calls).toBe(2);
    expect(await keys.refresh('old')).toBe('new');
    expect(state.calls).toBe(2);
  });

  it('uses a stale key while the vault is down, and is 503 with none', async () => {
    let now = 0;
    const { state, client } = vault(['k1']);
    const keys = new VaultApiKey(client, { secretName: 's', ttlMs: 1000, now: () => now });
    state.down = true;
    const error = await keys.get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error).toMatchObject({ dependency: 'KeyVault', code: 'KeyVaultUnavailable', retryAfterMs: 10_000 });
    expect((error as Error).message).not.toMatch(/ECONNREFUSED/);
    state.down = false;
    expect(await keys.get()).toBe('k1');
    state.down = true;
    now = 5000;
    expect(await keys.get()).toBe('k1');
    const calls = state.calls;
    expect(await keys.get()).toBe('k1'); // not asked again at once
    expect(state.calls).toBe(calls);
    // A key the service refused is not served stale.
    await expect(keys.refresh('k1')).rejects.toBeInstanceOf(DependencyUnavailableError);
  });
});
