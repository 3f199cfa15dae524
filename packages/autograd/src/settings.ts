/**
 * Settings read from the environment, lazily and only where there is one: `globalThis.process?.env`
 * in Node, nothing in a browser. No module of the engine touches `process` at load time, so the same
 * files run in Node and bundle for the browser.
 */

/** The value of environment variable `name`, or undefined (always undefined outside Node). */
export function envSetting(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.[name];
  return v === '' ? undefined : v;
}
