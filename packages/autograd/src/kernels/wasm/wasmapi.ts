/**
 * The slice of the WebAssembly JS API these kernels use, typed locally: the package compiles with
 * `lib: ES2022` and @types/node 20, neither of which declares the `WebAssembly` namespace.
 */

/** A linear memory (`WebAssembly.Memory`). @inline */
export interface WasmMemory {
  /** The current backing buffer; replaced (the old one detached) by every grow. */
  readonly buffer: ArrayBuffer;
  /** Grows by `pages` 64 KiB pages; returns the old size in pages. */
  grow(pages: number): number;
}

/** The `WebAssembly` global, as far as used here. */
export interface WasmApi {
  /** Synchronous compilation. */
  Module: new (bytes: Uint8Array) => object;
  /** Synchronous instantiation. */
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
  /** Memory constructor (sizes in pages). */
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  /** Whether the bytes are a valid module for this engine. */
  validate(bytes: Uint8Array): boolean;
}

/** `globalThis.WebAssembly`, or undefined where the engine has none. */
export const wasmApi: WasmApi | undefined = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
