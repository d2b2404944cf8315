import { readFileSync } from 'node:fs';

/** Installs are reproducible: package.json pins exact versions and package-lock.json holds those same ones. */

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Record<string, Record<string, string>>;
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  lockfileVersion: number;
  packages: Record<
    string,
    { version?: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> }
  >;
};
const declared = { ...manifest.dependencies, ...manifest.devDependencies };

test('CFG-9: when package.json names a dependency, then its version is exact and the lockfile pins that version', () => {
  const loose = Object.entries(declared).filter(([, version]) => !/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version));
  expect(loose).toEqual([]);
  const drifted = Object.entries(declared)
    .filter(([name, version]) => lock.packages[`node_modules/${name}`]?.version !== version)
    .map(([name]) => name);
  expect(drifted).toEqual([]);
  // npm ci compares these with package.json and refuses to install when they differ.
  expect({ ...lock.packages['']?.dependencies, ...lock.packages['']?.devDependencies }).toEqual(declared);
  expect(lock.lockfileVersion).toBeGreaterThanOrEqual(3);
  expect(readFileSync('.npmrc', 'utf8')).toMatch(/^save-exact=true$/m);
});
