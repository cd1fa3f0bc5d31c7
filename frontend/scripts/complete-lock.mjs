// Completes package-lock.json with the platform-specific optional packages
// (e.g. @rollup/rollup-darwin-arm64) that `npm install` leaves out when the
// registry it reaches does not carry them. Without these entries `npm ci`
// refuses the lock ("Missing: ... from lock file"). Each added entry names the
// exact version its parent pins, with the os/cpu/libc read from its name, so
// npm skips it on other platforms and fetches it by name on its own.
//
//   npm install && node scripts/complete-lock.mjs && npm ci
import { readFileSync, writeFileSync } from 'node:fs';

const OS = ['android', 'darwin', 'freebsd', 'linux', 'openbsd', 'openharmony', 'win32', 'sunos', 'netbsd', 'aix'];
const CPU = ['arm64', 'arm', 'x64', 'ia32', 'loong64', 'ppc64', 'riscv64', 's390x', 'mips64el', 'wasm32'];

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const pkgs = lock.packages;
let added = 0;

for (const [key, meta] of Object.entries(pkgs)) {
  for (const [name, spec] of Object.entries(meta.optionalDependencies ?? {})) {
    const at = `node_modules/${name}`;
    if (pkgs[at]) continue;
    const tokens = name.split('/').pop().split('-');
    const os = OS.find((t) => tokens.includes(t));
    const cpu = CPU.find((t) => tokens.includes(t));
    if (!os || !cpu || !/^\d+\.\d+\.\d+$/.test(spec)) {
      console.warn(`complete-lock: left out ${name}@${spec} (needed by ${key || 'the root'}): no platform in its name`);
      continue;
    }
    const entry = { version: spec, cpu: [cpu] };
    if (meta.dev) entry.dev = true;
    if (os === 'linux') entry.libc = [tokens.some((t) => t.includes('musl')) ? 'musl' : 'glibc'];
    entry.optional = true;
    entry.os = [os];
    pkgs[at] = entry;
    added++;
  }
}

lock.packages = Object.fromEntries(
  Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`complete-lock: added ${added} entries`);
