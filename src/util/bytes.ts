const BYTE_UNITS: readonly [string, number][] = [
  ["TiB", 2 ** 40],
  ["GiB", 2 ** 30],
  ["MiB", 2 ** 20],
  ["KiB", 2 ** 10],
];

/**
 * How {@link formatBytes} prints: `"exact"` never rounds ("2 GiB", "1.5 MiB", else
 * "1234567 bytes"), for amounts a user typed; `"rounded"` reads at a glance
 * ("12.5 MiB"); `"both"` adds the exact count ("64.0 MiB (67108928 bytes)") for
 * error messages about sizes.
 */
export type ByteStyle = "exact" | "rounded" | "both";

/** A byte count as text in the given style (default `"exact"`); below 1 KiB always "<n> bytes". */
export function formatBytes(n: number, style: ByteStyle = "exact"): string {
  const unit = BYTE_UNITS.find(([, size]) => Math.abs(n) >= size);
  if (unit !== undefined) {
    const [label, size] = unit;
    const value = n / size;
    if (style === "rounded") return `${value.toFixed(1)} ${label}`;
    if (style === "both") return `${value.toFixed(1)} ${label} (${n} bytes)`;
    if (Math.round(value * 100) / 100 === value) return `${value} ${label}`;
  }
  // Memory amounts are whole bytes; a fraction (an unchecked input) prints to 4 decimals.
  const count = Number.isInteger(n) ? n : Math.round(n * 10_000) / 10_000;
  return `${count === 0 ? 0 : count} bytes`;
}
