/**
 * Settings defined once (CleanRL's dataclass that is at once the type, the default, the help text and
 * the CLI flag): a table maps each setting's name to a {@link Setting}, built with the small
 * constructors below, and gives
 *
 * - the TypeScript type of a complete configuration ({@link SettingsOf}),
 * - the default value and one check with a message naming the setting and what is allowed,
 * - the help text and the CLI flag (the `metagrad` CLI declares its options from the table),
 * - a JSON Schema for config files ({@link jsonSchemaOf}).
 *
 * The algorithms' settings (algos/settings.ts) and the trainer's (trainer/config.ts) are such tables.
 */

/** A configuration problem, with a message naming the field and what is allowed. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** How a setting is given on the command line. */
export interface FlagSpec {
  /** The flag without dashes, e.g. 'inner-lr'. */
  readonly name: string;
  /** The value placeholder in help ('<x>'); absent for a switch. */
  readonly arg?: string;
  /** For a switch: the value its presence sets (e.g. --fixed-std sets learnStd false). */
  readonly sets?: boolean;
}

/** One setting of type T. */
export interface Setting<T> {
  /** What the help and the JSON Schema call its type. */
  readonly kind: 'integer' | 'number' | 'boolean' | 'enum' | 'integer list' | 'object';
  /** The default (undefined for a required setting). */
  readonly default: T | undefined;
  /** One line for --help and the JSON Schema's description. */
  readonly help: string;
  /** Its CLI flag, or undefined for a config-file-only setting. */
  readonly flag: FlagSpec | undefined;
  /** Returns `v` as a T, or throws a ConfigError naming `key` and what is allowed. */
  check(key: string, v: unknown): T;
  /** Parses a flag's string (syntax only; `check` then validates the value). */
  parse(raw: string): unknown;
  /** The JSON Schema of one value. */
  readonly schema: Record<string, unknown>;
  /**
   * True when the value never changes a run's numbers, only how they are computed (threads, jit): such
   * a setting may differ when a run is resumed or matched by `compare` (see {@link sameResults}).
   */
  readonly sameResults?: boolean;
}

/** Marks a setting whose value changes how a run computes, never its numbers (tested bit for bit). */
export function sameResults<T>(s: Setting<T>): Setting<T> {
  return { ...s, sameResults: true };
}

/** The configuration type of a settings table. */
export type SettingsOf<Table> = { -readonly [K in keyof Table]: Table[K] extends Setting<infer T> ? T : never };

/** A value for an error message: strings quoted, arrays as JSON. */
export const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? JSON.stringify(v) : String(v));

/**
 * The options every setting constructor takes.
 *
 * @inline
 */
interface Common<T> {
  /** The default; absent for a required setting. */
  default?: T;
  /** One line for --help and the JSON Schema's description. */
  help: string;
  /** The flag name without dashes; absent or false: no flag (a config-file-only setting). */
  flag?: string | false;
}

function flagOf(flag: string | false | undefined, arg?: string): FlagSpec | undefined {
  return flag ? (arg === undefined ? { name: flag } : { name: flag, arg }) : undefined;
}

/** A number from a flag string: Number(raw), with '' and non-numbers left for `check` to reject. */
const parseNumber = (raw: string): unknown => (raw.trim() === '' || Number.isNaN(Number(raw)) ? raw : Number(raw));

/** An integer in [min, max] (min defaults to 1). */
export function integer(o: Common<number> & { min?: number; max?: number }): Setting<number> {
  const min = o.min ?? 1;
  const max = o.max ?? Number.MAX_SAFE_INTEGER;
  const what = o.max !== undefined ? `an integer in [${min}, ${max}]` : min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`;
  return {
    kind: 'integer', default: o.default, help: o.help, flag: flagOf(o.flag, '<n>'), parse: parseNumber,
    schema: { type: 'integer', minimum: min, ...(o.max !== undefined ? { maximum: max } : {}) },
    check(key, v) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ConfigError(`${key} must be ${what}, got ${show(v)}`);
      if (v > max) throw new ConfigError(`${key} must be at most ${max}, got ${v}`);
      return v;
    },
  };
}

/** "positive", "≥ 0", "in (0, 1]", ... for a number's bounds ("finite" for none). */
function rangeText(o: { min?: number; max?: number; above?: number; below?: number }): string {
  const lo = o.above !== undefined ? { open: true, v: o.above } : o.min !== undefined ? { open: false, v: o.min } : null;
  const hi = o.below !== undefined ? { open: true, v: o.below } : o.max !== undefined ? { open: false, v: o.max } : null;
  if (lo && hi) return `in ${lo.open ? '(' : '['}${lo.v}, ${hi.v}${hi.open ? ')' : ']'}`;
  if (lo) return lo.v === 0 && lo.open ? 'positive' : `${lo.open ? '>' : '≥'} ${lo.v}`;
  if (hi) return `${hi.open ? '<' : '≤'} ${hi.v}`;
  return 'finite';
}

/** A finite number, optionally bounded: `min`/`max` inclusive, `above`/`below` exclusive. */
export function number(o: Common<number> & { min?: number; max?: number; above?: number; below?: number }): Setting<number> {
  const range = rangeText(o);
  const what = range === 'finite' ? 'a finite number' : range === 'positive' ? 'a positive number' : `a number ${range}`;
  return {
    kind: 'number', default: o.default, help: o.help, flag: flagOf(o.flag, '<x>'), parse: parseNumber,
    schema: {
      type: 'number',
      ...(o.min !== undefined ? { minimum: o.min } : {}), ...(o.max !== undefined ? { maximum: o.max } : {}),
      ...(o.above !== undefined ? { exclusiveMinimum: o.above } : {}), ...(o.below !== undefined ? { exclusiveMaximum: o.below } : {}),
    },
    check(key, v) {
      const bad = typeof v !== 'number' || !Number.isFinite(v) ||
        (o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max) || (o.above !== undefined && v <= o.above) || (o.below !== undefined && v >= o.below);
      if (bad) throw new ConfigError(`${key} must be ${what}, got ${show(v)}`);
      return v;
    },
  };
}

/** true or false. On the command line a switch `--<flag>` that sets `sets` (default true). */
export function boolean(o: Common<boolean> & { sets?: boolean }): Setting<boolean> {
  return {
    kind: 'boolean', default: o.default, help: o.help, parse: (raw) => raw,
    flag: o.flag ? { name: o.flag, sets: o.sets ?? true } : undefined,
    schema: { type: 'boolean' },
    check(key, v) {
      if (typeof v !== 'boolean') throw new ConfigError(`${key} must be true or false, got ${show(v)}`);
      return v;
    },
  };
}

/** One of `values`; `noun` names them in the error ('algorithms' → "valid algorithms: ..."). */
export function oneOf<T extends string>(values: readonly T[], o: Common<T> & { noun?: string }): Setting<T> {
  return {
    kind: 'enum', default: o.default, help: o.help, flag: flagOf(o.flag, '<name>'), parse: (raw) => raw,
    schema: { type: 'string', enum: [...values] },
    check(key, v) {
      if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
        throw new ConfigError(`unknown ${key} ${show(v)}; valid ${o.noun ?? 'values'}: ${values.join(', ')}`);
      return v as T;
    },
  };
}

/** A non-empty list of positive integers (a flag takes them comma-separated, e.g. 64,64). */
export function integerList(o: Common<number[]> & { max?: number }): Setting<number[]> {
  const each = integer({ help: '', flag: false, ...(o.max !== undefined ? { max: o.max } : {}) });
  return {
    kind: 'integer list', default: o.default, help: o.help, flag: flagOf(o.flag, '<list>'),
    parse: (raw) => raw.split(',').map((s) => parseNumber(s.trim())),
    schema: { type: 'array', minItems: 1, items: each.schema },
    check(key, v) {
      if (!Array.isArray(v) || v.length === 0) throw new ConfigError(`${key} must be a non-empty array of positive integers, got ${show(v)}`);
      return v.map((x, i) => each.check(`${key}[${i}]`, x));
    },
  };
}

/** An object of optional sub-settings (a config-file-only setting: no flag). */
export function object<Table extends Record<string, Setting<unknown>>>(table: Table, o: { help: string }): Setting<Partial<SettingsOf<Table>>> {
  const keys = Object.keys(table);
  return {
    kind: 'object', default: {}, help: o.help, flag: undefined, parse: (raw) => raw,
    schema: { type: 'object', additionalProperties: false, properties: Object.fromEntries(keys.map((k) => [k, schemaOf(table[k]!)])) },
    check(key, v) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${key} must be an object, got ${show(v)}`);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const s = table[k];
        if (!s) throw new ConfigError(`unknown ${key} key '${k}'; valid keys: ${keys.join(', ')}`);
        if (x !== undefined) out[k] = s.check(`${key}.${k}`, x);
      }
      return out as Partial<SettingsOf<Table>>;
    },
  };
}

function schemaOf(s: Setting<unknown>): Record<string, unknown> {
  return { description: s.help, ...s.schema, ...(s.default !== undefined ? { default: s.default } : {}) };
}

/** The JSON Schema (draft 2020-12) of a config object of `table`: every key optional unless listed in `required`. */
export function jsonSchemaOf(table: Record<string, Setting<unknown>>, opts: { title: string; required?: readonly string[] }): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: opts.title,
    type: 'object',
    additionalProperties: false,
    required: [...(opts.required ?? [])],
    properties: Object.fromEntries(Object.entries(table).map(([k, s]) => [k, schemaOf(s)])),
  };
}

/** Checks every key of `values` against `table` (unknown keys are errors); undefined values are skipped. */
export function checkSettings<Table extends Record<string, Setting<unknown>>>(table: Table, values: Record<string, unknown>): Partial<SettingsOf<Table>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    const s = table[k];
    if (!s) throw new ConfigError(`unknown config key '${k}'; valid keys: ${Object.keys(table).join(', ')}`);
    out[k] = s.check(k, v);
  }
  return out as Partial<SettingsOf<Table>>;
}
