// The cluster as the placement policy sees it (plain data the control store fills from
// heartbeats), the scheduling strategies a caller may ask for, label selectors, and
// the checks the API runs on user-supplied strategies and selectors.
import { describeValue } from "./amounts.js";
import type { ResourceMap } from "./resource-map.js";
import { isPlainObject } from "./validate.js";

/**
 * One node as last reported. `total` and `available` are aggregate amounts (GPU counts
 * summed over instances); `available` may be negative for CPU while blocked workers
 * have taken theirs back. A node that is not `alive`, or is `draining`, gets no new work.
 * Node ids are unique within a view.
 */
export interface NodeView {
  readonly nodeId: string;
  readonly total: ResourceMap;
  readonly available: ResourceMap;
  readonly labels: Readonly<Record<string, string>>;
  readonly alive: boolean;
  readonly draining?: boolean;
}

/** Every node the control store knows of, in any order (decisions never depend on it). */
export type ClusterView = readonly NodeView[];

/**
 * Pin work to one node. Hard (`soft: false`): that node or nothing; soft: that node
 * when it has room now, else the default policy.
 */
export interface NodeAffinityStrategy {
  readonly nodeId: string;
  readonly soft: boolean;
}

/**
 * How to pick a node: "DEFAULT" (pack the local node up to the spread threshold, then
 * least utilized), "SPREAD" (round-robin over nodes with room) or a node affinity.
 */
export type SchedulingStrategy = "DEFAULT" | "SPREAD" | NodeAffinityStrategy;

/**
 * Label key -> wanted value. `"v"` matches a node whose label equals v; `"a|b"` one whose
 * label is a or b; `"!v"` / `"!a|b"` one whose label is none of them or that lacks the
 * key. A node must match every entry. Values cannot themselves contain `|` or start with `!`.
 */
export type LabelSelector = Readonly<Record<string, string>>;

const STRATEGY_SHAPE = '"DEFAULT", "SPREAD" or a node affinity { nodeId: string, soft?: boolean }';
const AFFINITY_KEYS: readonly string[] = ["nodeId", "soft"];

/**
 * Checks a user-supplied scheduling strategy and returns it normalized: undefined is
 * "DEFAULT"; a node affinity comes back as a new frozen `{ nodeId, soft }` (`soft`
 * defaults to false). `where` names the call for messages, e.g. "remote() options".
 * @throws TypeError naming `where`, the `schedulingStrategy` option (or its field), the
 *   value and what is valid.
 */
export function validateSchedulingStrategy(value: unknown, where = "options"): SchedulingStrategy {
  const option = `${where}: schedulingStrategy`;
  if (value === undefined || value === "DEFAULT") return "DEFAULT";
  if (value === "SPREAD") return "SPREAD";
  if (typeof value === "string") {
    const upper = value.toUpperCase();
    const hint = upper === "DEFAULT" || upper === "SPREAD" ? ` (did you mean "${upper}"?)` : "";
    throw new TypeError(`${option} must be ${STRATEGY_SHAPE}, got ${describeValue(value)}${hint}`);
  }
  if (!isPlainObject(value)) {
    throw new TypeError(`${option} must be ${STRATEGY_SHAPE}, got ${describeValue(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!AFFINITY_KEYS.includes(key)) {
      throw new TypeError(
        `${option} has an unknown field ${JSON.stringify(key)}; a node affinity has nodeId and soft`,
      );
    }
  }
  const { nodeId, soft } = value;
  if (typeof nodeId !== "string" || nodeId.trim() === "") {
    throw new TypeError(
      `${option}.nodeId must be a non-empty string (the node's id), got ${
        typeof nodeId === "string" ? JSON.stringify(nodeId) : describeValue(nodeId)
      }`,
    );
  }
  if (soft !== undefined && typeof soft !== "boolean") {
    throw new TypeError(`${option}.soft must be true or false (default false), got ${describeValue(soft)}`);
  }
  return Object.freeze({ nodeId, soft: soft === true });
}

/**
 * Checks a user-supplied label selector and returns a frozen copy; undefined gives an
 * empty selector. Keys must be non-empty strings; values strings, where `!` may only
 * lead and every `|`-separated alternative must be non-empty.
 * @throws TypeError naming `where`, the `labelSelector` option or entry, the value and what is valid.
 */
export function validateLabelSelector(value: unknown, where = "options"): LabelSelector {
  const option = `${where}: labelSelector`;
  if (value === undefined) return Object.freeze({});
  if (!isPlainObject(value)) {
    throw new TypeError(
      `${option} must be a plain object of label -> value ("v", "!v", "a|b" or "!a|b"), got ${describeValue(value)}`,
    );
  }
  const out: Record<string, string> = {};
  for (const key of Object.keys(value)) {
    if (key.trim() === "") throw new TypeError(`${option} keys must be non-empty label names, got ""`);
    const v = value[key];
    const entry = `${option}[${JSON.stringify(key)}]`;
    if (typeof v !== "string") {
      throw new TypeError(`${entry} must be a string ("v", "!v", "a|b" or "!a|b"), got ${describeValue(v)}`);
    }
    const parsed = parseTerm(v);
    if (parsed.values.some((alt) => alt === "" || alt.startsWith("!"))) {
      throw new TypeError(
        `${entry} must be "v", "!v", "a|b" or "!a|b" with non-empty values ("!" only first), got ${JSON.stringify(v)}`,
      );
    }
    Object.defineProperty(out, key, { value: v, enumerable: true });
  }
  return Object.freeze(out);
}

interface Term {
  readonly key: string;
  readonly negate: boolean;
  readonly values: readonly string[];
}

function parseTerm(v: string, key = ""): Term {
  const negate = v.startsWith("!");
  return { key, negate, values: (negate ? v.slice(1) : v).split("|") };
}

/**
 * Compiles a selector into a node predicate (parsed once per decision, not per node).
 * Only own properties of `labels` count, so "constructor" or "__proto__" never match by accident.
 */
export function labelMatcher(selector: LabelSelector | undefined): (labels: NodeView["labels"]) => boolean {
  if (selector === undefined) return () => true;
  const terms = Object.keys(selector).map((key) => parseTerm(selector[key], key));
  if (terms.length === 0) return () => true;
  return (labels) =>
    terms.every((t) => {
      const has = Object.hasOwn(labels, t.key) && t.values.includes(labels[t.key]);
      return has !== t.negate;
    });
}

/** True when the selector has at least one entry (an empty one filters nothing). */
export function hasSelector(selector: LabelSelector | undefined): selector is LabelSelector {
  return selector !== undefined && Object.keys(selector).length > 0;
}

/**
 * Checks a node's labels (from `tsray start --labels` or `Cluster.addNode`) and returns a
 * frozen copy; undefined gives none. Keys and values must be non-empty strings; a value
 * may not contain `|` or start with `!` (a label selector could never name it).
 * @throws TypeError naming `where`, the label, the value and what is valid.
 */
export function validateNodeLabels(value: unknown, where = "node labels"): Readonly<Record<string, string>> {
  if (value === undefined) return Object.freeze({});
  if (!isPlainObject(value)) {
    throw new TypeError(`${where} must be a plain object of label -> value, got ${describeValue(value)}`);
  }
  const out: Record<string, string> = {};
  for (const key of Object.keys(value)) {
    if (key.trim() === "") throw new TypeError(`${where}: label names must be non-empty, got ""`);
    const v = value[key];
    if (typeof v !== "string" || v === "" || v.includes("|") || v.startsWith("!")) {
      throw new TypeError(
        `${where}[${JSON.stringify(key)}] must be a non-empty string without "|" and not starting with "!", got ${
          typeof v === "string" ? JSON.stringify(v) : describeValue(v)
        }`,
      );
    }
    Object.defineProperty(out, key, { value: v, enumerable: true });
  }
  return Object.freeze(out);
}
