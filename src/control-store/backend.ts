/**
 * Storage behind the control store's tables. The memory backend is the default;
 * a Redis backend (durable head) implements the same interface.
 */
export interface StorageBackend {
  /** The value under (table, key), or undefined. */
  get(table: string, key: string): Promise<Uint8Array | undefined>;
  /** Store a value; with overwrite=false an existing key is kept. Resolves true if written. */
  put(table: string, key: string, value: Uint8Array, overwrite: boolean): Promise<boolean>;
  /** Remove a key; resolves true if it existed. */
  delete(table: string, key: string): Promise<boolean>;
  /** Every key of a table. */
  keys(table: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Tables in process memory: fast, gone with the head. */
export class MemoryBackend implements StorageBackend {
  private readonly tables = new Map<string, Map<string, Uint8Array>>();

  private table(name: string): Map<string, Uint8Array> {
    let t = this.tables.get(name);
    if (!t) this.tables.set(name, (t = new Map()));
    return t;
  }

  async get(table: string, key: string): Promise<Uint8Array | undefined> {
    return this.table(table).get(key);
  }

  async put(table: string, key: string, value: Uint8Array, overwrite: boolean): Promise<boolean> {
    const t = this.table(table);
    if (!overwrite && t.has(key)) return false;
    t.set(key, value);
    return true;
  }

  async delete(table: string, key: string): Promise<boolean> {
    return this.table(table).delete(key);
  }

  async keys(table: string): Promise<string[]> {
    return [...this.table(table).keys()];
  }

  async close(): Promise<void> {
    this.tables.clear();
  }
}
